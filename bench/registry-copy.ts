/**
 * Benchmark: copy an image of 5 layers x 20 MB from one docker-registry to another,
 * berth vs skopeo, side by side in one run. Each run gets a fresh destination
 * registry so that neither tool can skip or mount what an earlier run stored.
 * Run: node dist/bench/registry-copy.js [runs]
 */
import { mkdtempSync, rmSync } from 'node:fs';
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

  const berthTimes: number[] = [];
  const skopeoTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    skopeoTimes.push(await time('skopeo'));
    berthTimes.push(await time('berth'));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const b = median(berthTimes);
  const s = median(skopeoTimes);
  console.log(`registry -> registry copy, 5 layers x 20 MB (${runs} runs, median)`);
  console.log(`  berth  ${b.toFixed(0)} ms   (${berthTimes.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`  skopeo ${s.toFixed(0)} ms   (${skopeoTimes.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`  ratio berth/skopeo = ${(b / s).toFixed(2)} (goal <= 0.5)`);
} finally {
  for (const stop of stops.reverse()) await stop();
  rmSync(dir, { recursive: true, force: true });
}
