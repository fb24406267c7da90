/**
 * berth build vs buildah bud (vfs storage, chroot isolation, --layers), side by side in one run.
 * The Dockerfile has 3 RUN steps and a COPY of 2,000 files, on the offline busybox base. Two figures:
 *   cold: fresh storage on both sides;
 *   warm: a rebuild after one source file of the COPY changed (step caches on both sides).
 * Each is the median of N alternating runs; the ratio printed is berth/buildah (goals: cold ≤ 0.7, warm ≤ 0.3).
 *
 *   node dist/bench/build.js [--runs N] [--files N]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { flag, median } from './measure.js';
import { makeBaseImage } from '../fixtures/base-image/makeBaseImage.js';
import { writeBuildBenchContext } from './buildContext.js';

const berthBin = new URL('../bin/berth.js', import.meta.url).pathname;

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const start = performance.now();
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
  return (performance.now() - start) / 1000;
}

async function main(): Promise<void> {
  const runs = flag('runs', 3);
  const files = flag('files', 2000);
  // buildah turns an oci: path into an image name, which must be lower-case.
  const work = join(tmpdir(), `berth-bench-build-${randomBytes(6).toString('hex')}`);
  mkdirSync(work);
  try {
    await makeBaseImage(join(work, 'base'), { tag: 'bb' });
    const base = `oci:${join(work, 'base')}:bb`;
    const context = join(work, 'ctx');
    const edited = writeBuildBenchContext(context, files);
    const berthBuild = (root: string) => timed(process.execPath, [berthBin, 'build', '-q', '--build-arg', `BASE=${base}`, '-t', 'localhost/bench:1', context], { ...process.env, BERTH_ROOT: root });
    const buildahBuild = (root: string) => timed('buildah', ['--root', join(root, 'store'), '--runroot', join(root, 'run'), '--storage-driver', 'vfs', 'bud', '--isolation', 'chroot', '--layers', '--build-arg', `BASE=${base}`, '-t', 'bench', context]);
    const cold: [number[], number[]] = [[], []];
    const warm: [number[], number[]] = [[], []];
    for (let r = 0; r < runs; r++) {
      const berthRoot = join(work, `berth-${r}`);
      const buildahRoot = join(work, `buildah-${r}`);
      cold[0].push(berthBuild(berthRoot));
      cold[1].push(buildahBuild(buildahRoot));
      writeFileSync(edited, `module.exports = 'edited ${r}';\n`);
      warm[0].push(berthBuild(berthRoot));
      warm[1].push(buildahBuild(buildahRoot));
      rmSync(berthRoot, { recursive: true, force: true });
      execFileSync('buildah', ['--root', join(buildahRoot, 'store'), '--runroot', join(buildahRoot, 'run'), '--storage-driver', 'vfs', 'rmi', '-a', '-f'], { stdio: 'ignore' });
      rmSync(buildahRoot, { recursive: true, force: true });
    }
    const line = (name: string, [ours, theirs]: [number[], number[]], goal: number) =>
      `${name}: berth ${median(ours).toFixed(2)} s, buildah ${median(theirs).toFixed(2)} s, berth/buildah ${(median(ours) / median(theirs)).toFixed(2)} (goal ≤ ${goal})`;
    console.log(`Dockerfile: 3 RUN + COPY of ${files} files, median of ${runs} runs each`);
    console.log(line('cold build', cold, 0.7));
    console.log(line('warm rebuild after a one-file edit', warm, 0.3));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
