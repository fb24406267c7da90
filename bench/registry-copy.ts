/**
 * Benchmark: copy an image of 5 layers from one docker-registry to another, berth vs skopeo, side by side in one
 * run, for each layer size given (MB). Each run gets a fresh destination registry so that neither tool can skip or
 * mount what an earlier run stored; each tool's peak RSS and CPU time are read by GNU time. Beside them, the floor
 * no client can go below: the destination docker-registry ingesting the same five blobs from local files
 * (monolithic uploads, all at once, from this process: no source reads, no process start-up).
 * Run: node dist/bench/registry-copy.js [runs] [MB per layer...]   (default: 3 runs, 20 and 100 MB)
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDockerRegistry } from '../test/support/dockerRegistry.js';
import { buildRandomLayout } from '../test/support/ociImage.js';
import { ok, run } from '../test/support/runCli.js';
import { berthBin, which } from '../test/support/peers.js';

const runs = Number(process.argv[2] ?? 3);
const sizes = process.argv.slice(3).map(Number);
if (sizes.length === 0) sizes.push(20, 100);
const gnuTime = which('time') ? '/usr/bin/time' : undefined;
const skopeo = which('skopeo');
const registryBin = which('docker-registry');
if (!skopeo || !registryBin) {
  console.error('bench needs skopeo and docker-registry');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-copy-'));
const stops: Array<() => Promise<void>> = [];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Measured {
  ms: number;
  rssMb: number | undefined;
  /** User + system CPU seconds: on a machine of few cores, what the client spends the registries cannot. */
  cpuS: number | undefined;
}

/** A command's wall time (ms) and, through GNU time, its peak RSS (MB) and CPU time. */
async function measured(command: string, args: string[], what: string): Promise<Measured> {
  const started = process.hrtime.bigint();
  const r = await ok(gnuTime ? run(gnuTime, ['-f', 'peak-rss-kb=%M cpu=%U+%S', command, ...args]) : run(command, args), what);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const kb = /peak-rss-kb=(\d+)/.exec(r.stderr)?.[1];
  const cpu = /cpu=([\d.]+)\+([\d.]+)/.exec(r.stderr);
  return { ms, rssMb: kb === undefined ? undefined : Number(kb) / 1024, cpuS: cpu ? Number(cpu[1]) + Number(cpu[2]) : undefined };
}

/**
 * Each run stores 5 blobs, and the kernel writes them to disk in the background while the next run goes on. Each
 * run's destination is deleted after it, and every run starts with nothing waiting to be written: without this,
 * one tool's copy paid for the other's write-back, and the ingest floor alone moved by 1.3 s within one bench.
 */
function settleDisk(): void {
  execFileSync('sync');
}

try {
  const source = await startDockerRegistry(registryBin, join(dir, 'source'));
  stops.push(() => source.stop());
  for (const mb of sizes) {
    const layout = join(dir, `layout-${mb}`);
    await buildRandomLayout(layout, 'v1', Array.from({ length: 5 }, (_, i) => ({ [`layer${i}`]: mb * 1024 * 1024 })), { label: `bench-${mb}` });
    const from = `docker://${source.host}/bench/image:${mb}mb`;
    await ok(run(skopeo, ['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, from]), 'seed');

    const time = async (tool: 'berth' | 'skopeo') => {
      const root = join(dir, `${tool}-${Date.now()}`);
      const target = await startDockerRegistry(registryBin, root);
      try {
        settleDisk();
        const to = `docker://${target.host}/bench/image:v1`;
        if (tool === 'berth') return await measured(berthBin, ['copy', '--quiet', ...(process.env.BERTH_FLAGS?.split(' ').filter(Boolean) ?? []), from, to], 'berth copy');
        return await measured(skopeo, ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', from, to], 'skopeo copy');
      } finally {
        await target.stop();
        rmSync(root, { recursive: true, force: true });
      }
    };

    /** One monolithic upload (POST, then PUT with the body) of a local blob file; resolves when the registry answers 201. */
    const upload = (host: string, file: string, digest: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const post = request(`http://${host}/v2/floor/blobs/uploads/`, { method: 'POST' }, (res) => {
          res.resume();
          const location = new URL(res.headers.location ?? '', `http://${host}`);
          location.searchParams.set('digest', digest);
          const put = request(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': statSync(file).size } }, (done) => {
            done.resume();
            if (done.statusCode === 201) resolve();
            else reject(new Error(`floor upload: ${done.statusCode}`));
          });
          put.on('error', reject);
          createReadStream(file).pipe(put);
        });
        post.on('error', reject);
        post.end();
      });
    const blobDir = join(layout, 'blobs', 'sha256');
    const layerFiles = readdirSync(blobDir).filter((name) => statSync(join(blobDir, name)).size > 1024 * 1024);
    const floor = async (): Promise<number> => {
      const root = join(dir, `floor-${Date.now()}`);
      const target = await startDockerRegistry(registryBin, root);
      try {
        settleDisk();
        const started = process.hrtime.bigint();
        await Promise.all(layerFiles.map((name) => upload(target.host, join(blobDir, name), `sha256:${name}`)));
        return Number(process.hrtime.bigint() - started) / 1e6;
      } finally {
        await target.stop();
        rmSync(root, { recursive: true, force: true });
      }
    };

    const berthRuns: Measured[] = [];
    const skopeoRuns: Measured[] = [];
    const floorTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      skopeoRuns.push(await time('skopeo'));
      berthRuns.push(await time('berth'));
      floorTimes.push(await floor());
    }
    const b = median(berthRuns.map((r) => r.ms));
    const s = median(skopeoRuns.map((r) => r.ms));
    const f = median(floorTimes);
    const rss = (xs: Measured[]) => (xs[0]?.rssMb === undefined ? 'n/a' : `${Math.max(...xs.map((x) => x.rssMb!)).toFixed(0)} MB`);
    const cpu = (xs: Measured[]) => (xs[0]?.cpuS === undefined ? 'n/a' : `${median(xs.map((x) => x.cpuS!)).toFixed(2)} s`);
    // Each berth run follows its skopeo run: the ratio within a pair moves less with the machine's load than the
    // medians do.
    const pairs = berthRuns.map((x, i) => x.ms / skopeoRuns[i]!.ms);
    console.log(`registry -> registry copy, 5 layers x ${mb} MB (${runs} runs, median; peak RSS the largest of the runs)`);
    console.log(`  berth  ${b.toFixed(0)} ms   (${berthRuns.map((x) => x.ms.toFixed(0)).join(', ')})   peak RSS ${rss(berthRuns)}, CPU ${cpu(berthRuns)}`);
    console.log(`  skopeo ${s.toFixed(0)} ms   (${skopeoRuns.map((x) => x.ms.toFixed(0)).join(', ')})   peak RSS ${rss(skopeoRuns)}, CPU ${cpu(skopeoRuns)}`);
    console.log(`  floor  ${f.toFixed(0)} ms   (${floorTimes.map((x) => x.toFixed(0)).join(', ')}): the destination registry ingesting the 5 blobs from local files`);
    console.log(`  ratio berth/skopeo = ${(b / s).toFixed(2)} (goal <= 1 from 100 MB up, RSS < 64 MB; the ingest floor alone is ${(f / s).toFixed(2)} of skopeo)`);
    console.log(`  ratio within each run's pair: median ${median(pairs).toFixed(2)} (${pairs.map((x) => x.toFixed(2)).join(', ')})`);
    rmSync(layout, { recursive: true, force: true });
  }
} finally {
  for (const stop of stops.reverse()) await stop();
  rmSync(dir, { recursive: true, force: true });
}
