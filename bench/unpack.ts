/**
 * berth unpack vs umoci unpack, side by side in one run.
 * Builds an image of about 100 MB in 2,000 files with umoci itself (init, new,
 * unpack, generated tree, repack, config), then times both unpackers on it
 * (best of N runs each, alternating) and prints the ratio berth/umoci.
 *
 *   node dist/bench/unpack.js [--runs N] [--files N] [--mb N] [--keep]
 * (--keep leaves the image layout in place and prints its path, for profiling)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const berthBin = new URL('../bin/berth.js', import.meta.url).pathname;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** A tree like a real rootfs: nested directories, mostly small files, a few large ones, half-compressible data, symlinks. */
function generateTree(root: string, files: number, totalBytes: number): void {
  const sizes = Array.from({ length: files }, (_, i) => (i % 50 === 0 ? 40 : 1 + (i % 7)));
  const weight = sizes.reduce((a, b) => a + b, 0);
  for (let i = 0; i < files; i++) {
    const dir = join(root, `usr/lib/pkg${i % 40}/sub${i % 7}`);
    mkdirSync(dir, { recursive: true });
    const size = Math.floor((sizes[i]! / weight) * totalBytes);
    const random = randomBytes(Math.ceil(size / 2));
    const text = Buffer.from(random.toString('hex').slice(0, size - random.length > 0 ? size - random.length : 0));
    writeFileSync(join(dir, `file${i}.so`), Buffer.concat([random, text]).subarray(0, size), { mode: i % 3 === 0 ? 0o755 : 0o644 });
    if (i % 100 === 0) symlinkSync(`file${i}.so`, join(dir, `link${i}.so`));
  }
}

/** CPU seconds (user + system) of waited-for children so far, from /proc (clock ticks of 10 ms). */
function childCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function main(): void {
  const runs = flag('runs', 3);
  const files = flag('files', 2000);
  const megabytes = flag('mb', 100);
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-unpack-'));
  try {
    const layout = join(work, 'layout');
    run('umoci', ['init', '--layout', layout]);
    run('umoci', ['new', '--image', `${layout}:bench`]);
    const staging = join(work, 'staging');
    run('umoci', ['unpack', '--image', `${layout}:bench`, staging]);
    generateTree(join(staging, 'rootfs'), files, megabytes * 1024 * 1024);
    run('umoci', ['repack', '--image', `${layout}:bench`, staging]);
    run('umoci', ['config', '--image', `${layout}:bench`, '--config.cmd', '/bin/true', '--os', 'linux', '--architecture', 'amd64']);
    run('umoci', ['gc', '--layout', layout]);
    const blobBytes = Number(execFileSync('du', ['-sb', join(layout, 'blobs')], { encoding: 'utf8' }).split('\t')[0]);
    process.stdout.write(`image: ${files} files, ${megabytes} MB uncompressed, ${(blobBytes / 1e6).toFixed(1)} MB of blobs\n`);

    // Outputs are removed only at the end: ext4 slows inode allocation next to recently deleted inodes,
    // which would penalise whichever tool runs right after a deletion.
    let counter = 0;
    const cpu: Record<string, number[]> = { berth: [], umoci: [] };
    const timeOne = (name: 'berth' | 'umoci', cmd: string, args: (out: string) => string[]): number => {
      const out = join(work, `${name}-out-${counter++}`);
      // Neither tool syncs what it writes: flushing first keeps the image's creation, and the other tool's
      // output, from being written back to disk during this run (and billed to it).
      run('sync', []);
      const cpuBefore = childCpuSeconds();
      const start = performance.now();
      run(cmd, args(out));
      const ms = performance.now() - start;
      cpu[name]!.push(childCpuSeconds() - cpuBefore);
      return ms;
    };
    const berth: number[] = [];
    const umoci: number[] = [];
    for (let i = 0; i < runs; i++) {
      umoci.push(timeOne('umoci', 'umoci', (out) => ['unpack', '--image', `${layout}:bench`, out]));
      berth.push(timeOne('berth', berthBin, (out) => ['unpack', '-q', `oci:${layout}:bench`, out]));
    }
    const best = (xs: number[]): number => Math.min(...xs);
    process.stdout.write(`umoci unpack: best ${best(umoci).toFixed(0)} ms of ${umoci.map((x) => x.toFixed(0)).join(', ')}\n`);
    process.stdout.write(`berth unpack: best ${best(berth).toFixed(0)} ms of ${berth.map((x) => x.toFixed(0)).join(', ')}\n`);
    process.stdout.write(`cpu seconds (user+sys), best: umoci ${best(cpu.umoci!).toFixed(2)}, berth ${best(cpu.berth!).toFixed(2)}\n`);
    process.stdout.write(`ratio berth/umoci = ${(best(berth) / best(umoci)).toFixed(2)} (goal <= 0.5)\n`);
  } finally {
    if (process.argv.includes('--keep')) process.stdout.write(`kept ${work}/layout\n`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main();
