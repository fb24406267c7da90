/**
 * Benchmark: copy an image of 5 layers x 20 MB from one docker-registry to another,
 * berth vs skopeo, side by side in one run. Each run gets a fresh destination
 * registry so that neither tool can skip or mount what an earlier run stored.
 * Beside them, the floor no client can go below: the destination docker-registry
 * ingesting the same five blobs from local files (monolithic uploads, all at once,
 * from this process: no source reads, no process start-up).
 * Run: node dist/bench/registry-copy.js [runs]
 */
import { createReadStream, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDockerRegistry } from '../test/support/dockerRegistry.js';
import { buildRandomLayout } from '../test/support/ociImage.js';
import { berthAsync, ok, run } from '../test/support/runCli.js';
import { which } from '../test/support/peers.js';

const runs = Number(process.argv[2] ?? 3);
const skopeo = which('skopeo');
const registryBin = which('docker-registry');
if (!skopeo || !registryBin) {
  console.error('bench needs skopeo and docker-registry');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-copy-'));
const stops: Array<() => Promise<void>> = [];
try {
  const source = await startDockerRegistry(registryBin, join(dir, 'source'));
  stops.push(() => source.stop());
  const layout = join(dir, 'layout');
  await buildRandomLayout(layout, 'v1', Array.from({ length: 5 }, (_, i) => ({ [`layer${i}`]: 20 * 1024 * 1024 })), { label: 'bench' });
  await ok(run(skopeo, ['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${source.host}/bench/image:v1`]), 'seed');

  const time = async (tool: 'berth' | 'skopeo'): Promise<number> => {
    const target = await startDockerRegistry(registryBin, join(dir, `${tool}-${Date.now()}`));
    try {
      const from = `docker://${source.host}/bench/image:v1`;
      const to = `docker://${target.host}/bench/image:v1`;
      const started = process.hrtime.bigint();
      if (tool === 'berth') await ok(berthAsync(['copy', '--quiet', ...(process.env.BERTH_FLAGS?.split(' ').filter(Boolean) ?? []), from, to]), 'berth copy');
      else await ok(run(skopeo, ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', from, to]), 'skopeo copy');
      return Number(process.hrtime.bigint() - started) / 1e6;
    } finally {
      await target.stop();
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
    const target = await startDockerRegistry(registryBin, join(dir, `floor-${Date.now()}`));
    try {
      const started = process.hrtime.bigint();
      await Promise.all(layerFiles.map((name) => upload(target.host, join(blobDir, name), `sha256:${name}`)));
      return Number(process.hrtime.bigint() - started) / 1e6;
    } finally {
      await target.stop();
    }
  };

  const berthTimes: number[] = [];
  const skopeoTimes: number[] = [];
  const floorTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    skopeoTimes.push(await time('skopeo'));
    berthTimes.push(await time('berth'));
    floorTimes.push(await floor());
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const b = median(berthTimes);
  const s = median(skopeoTimes);
  console.log(`registry -> registry copy, 5 layers x 20 MB (${runs} runs, median)`);
  console.log(`  berth  ${b.toFixed(0)} ms   (${berthTimes.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`  skopeo ${s.toFixed(0)} ms   (${skopeoTimes.map((x) => x.toFixed(0)).join(', ')})`);
  const f = median(floorTimes);
  console.log(`  floor  ${f.toFixed(0)} ms   (${floorTimes.map((x) => x.toFixed(0)).join(', ')}): the destination registry ingesting the 5 blobs from local files`);
  console.log(`  ratio berth/skopeo = ${(b / s).toFixed(2)} (goal <= 0.5; the ingest floor alone is ${(f / s).toFixed(2)} of skopeo)`);
} finally {
  for (const stop of stops.reverse()) await stop();
  rmSync(dir, { recursive: true, force: true });
}
