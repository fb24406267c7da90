/**
 * Builds in a CI pod: berth --isolation none (kaniko mode) inside a pod-like container running berth's own image
 * (berth-runc, Docker's default capabilities, no_new_privileges, host network), against berth --isolation container
 * and buildah (vfs, chroot) outside it, side by side in one run. Dockerfile: 3 RUN steps and a COPY of 2,000 files
 * on the offline busybox base, pulled from berth's registry on loopback, pushed there too.
 *   cold: empty disks and an empty --cache-repo;
 *   warm: one source file of the COPY edited, a fresh pod (empty disk) with the --cache-repo the cold build filled.
 * Each figure is the median of N runs. Goals: pod/outside ≤ 1.3 (cold and warm), pod/buildah cold ≤ 0.7.
 * Needs root (containers).
 *
 *   node dist/bench/buildInPod.js [--runs N] [--files N]
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { flag, median, seconds } from './measure.js';
import { makeBaseImage } from '../fixtures/base-image/makeBaseImage.js';
import { writeBuildBenchContext } from './buildContext.js';
import { startRegistryServer } from '../registry/server/startRegistryServer.js';
import { podContainer } from '../test/support/podContainer.js';

const berthBin = new URL('../bin/berth.js', import.meta.url).pathname;
/** Asynchronous: the registry serves from this very process, so nothing here may block its event loop. */
const run = promisify(execFile);

async function main(): Promise<void> {
  const runs = flag('runs', 3);
  const files = flag('files', 2000);
  const work = join(tmpdir(), `berth-bench-pod-${randomBytes(6).toString('hex')}`);
  mkdirSync(work);
  const registry = await startRegistryServer({ addr: '127.0.0.1:0', root: join(work, 'registry') });
  try {
    await makeBaseImage(join(work, 'base'), { tag: 'bb' });
    await run(process.execPath, [berthBin, 'copy', '-q', '--dest-tls-verify=false', `oci:${join(work, 'base')}:bb`, `docker://${registry.host}/base:1`]);
    const base = `${registry.host}/base:1`;
    const context = join(work, 'workspace', 'ctx');
    const edited = writeBuildBenchContext(context, files);
    const args = (cache: string, isolation: string, ctx: string) => ['build', '-q', '--tls-verify=false', '--isolation', isolation, '--build-arg', `BASE=${base}`, '--cache-repo', `${registry.host}/${cache}`, '-t', `docker://${registry.host}/app:bench`, ctx];
    const inPod = async (cache: string, r: number, phase: string) => {
      const result = await podContainer(join(work, `pods-${r}-${phase}`)).berth(args(cache, 'none', '/workspace/ctx'), { binds: { '/workspace': join(work, 'workspace') } });
      if (result.status !== 0) throw new Error(`build in the pod failed: ${result.stderr}`);
    };
    const outside = (cache: string, root: string) => run(process.execPath, [berthBin, ...args(cache, 'container', context)], { env: { ...process.env, BERTH_ROOT: root } });
    const buildah = (root: string) => run('buildah', ['--root', join(root, 'store'), '--runroot', join(root, 'run'), '--storage-driver', 'vfs', 'bud', '-q', '--isolation', 'chroot', '--layers', '--build-arg', `BASE=${base}`, '--tls-verify=false', '-t', 'bench', context]);
    // The pod's image is built once, before anything is timed.
    await podContainer(join(work, 'warmup')).berth(['--version']);
    const cold = { pod: [] as number[], outside: [] as number[], buildah: [] as number[] };
    const warm = { pod: [] as number[], outside: [] as number[] };
    for (let r = 0; r < runs; r++) {
      writeFileSync(edited, `module.exports = 0;\n`);
      cold.pod.push(await seconds(() => inPod(`cache-pod-${r}`, r, 'cold')));
      cold.outside.push(await seconds(() => outside(`cache-out-${r}`, join(work, `root-${r}-cold`))));
      cold.buildah.push(await seconds(() => buildah(join(work, `buildah-${r}`))));
      await run('buildah', ['--root', join(work, `buildah-${r}`, 'store'), '--runroot', join(work, `buildah-${r}`, 'run'), '--storage-driver', 'vfs', 'rmi', '-a', '-f']);
      rmSync(join(work, `buildah-${r}`), { recursive: true, force: true });
      writeFileSync(edited, `module.exports = 'edited ${r}';\n`);
      warm.pod.push(await seconds(() => inPod(`cache-pod-${r}`, r, 'warm')));
      warm.outside.push(await seconds(() => outside(`cache-out-${r}`, join(work, `root-${r}-warm`))));
      for (const phase of ['cold', 'warm']) {
        rmSync(join(work, `pods-${r}-${phase}`), { recursive: true, force: true });
        rmSync(join(work, `root-${r}-${phase}`), { recursive: true, force: true });
      }
    }
    const s = (xs: number[]) => `${median(xs).toFixed(2)} s`;
    console.log(`Dockerfile: 3 RUN + COPY of ${files} files, median of ${runs} runs each; registry and --cache-repo on loopback`);
    console.log(`cold: pod (--isolation none) ${s(cold.pod)}, outside (--isolation container) ${s(cold.outside)}, buildah ${s(cold.buildah)}; pod/outside ${(median(cold.pod) / median(cold.outside)).toFixed(2)} (goal ≤ 1.3), pod/buildah ${(median(cold.pod) / median(cold.buildah)).toFixed(2)} (goal ≤ 0.7)`);
    console.log(`warm (one file edited, empty disk, --cache-repo): pod ${s(warm.pod)}, outside ${s(warm.outside)}; pod/outside ${(median(warm.pod) / median(warm.outside)).toFixed(2)} (goal ≤ 1.3)`);
  } finally {
    await registry.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
