/**
 * Benchmark: sync a repository of 20 tags sharing a base layer from one
 * docker-registry to another, berth sync vs skopeo sync, side by side.
 * Each run syncs into a fresh destination registry.
 * Run: node dist/bench/sync.js [runs]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDockerRegistry } from '../test/support/dockerRegistry.js';
import { writeImageBlobs, writeLayoutIndex } from '../test/support/ociImage.js';
import { berthAsync, ok, run } from '../test/support/runCli.js';
import { which } from '../test/support/peers.js';

const runs = Number(process.argv[2] ?? 3);
const TAGS = 20;
const skopeo = which('skopeo');
const registryBin = which('docker-registry');
if (!skopeo || !registryBin) {
  console.error('bench needs skopeo and docker-registry');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-sync-'));
const stops: Array<() => Promise<void>> = [];
try {
  const source = await startDockerRegistry(registryBin, join(dir, 'source'));
  stops.push(() => source.stop());
  const layout = join(dir, 'layout');
  const base = [{ name: 'base.bin', content: randomBytes(8 * 1024 * 1024) }];
  const entries = [];
  for (let i = 0; i < TAGS; i++) {
    const image = await writeImageBlobs(layout, { layers: [base, [{ name: `app${i}.bin`, content: randomBytes(64 * 1024) }]], label: `t${i}` });
    entries.push({ tag: `1.0.${i}`, descriptor: image.manifest });
  }
  await writeLayoutIndex(layout, entries);
  for (const { tag } of entries) await ok(run(skopeo, ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${source.host}/bench/app:${tag}`]), `seed ${tag}`);

  const time = async (tool: 'berth' | 'skopeo'): Promise<number> => {
    const target = await startDockerRegistry(registryBin, join(dir, `${tool}-${Date.now()}`));
    try {
      const started = process.hrtime.bigint();
      if (tool === 'berth') await ok(berthAsync(['sync', '--quiet', ...(process.env.BERTH_FLAGS?.split(' ').filter(Boolean) ?? []), '--src', 'docker', '--dest', 'docker', `${source.host}/bench/app`, `${target.host}/mirror`]), 'berth sync');
      else await ok(run(skopeo, ['sync', '--src', 'docker', '--dest', 'docker', '--src-tls-verify=false', '--dest-tls-verify=false', `${source.host}/bench/app`, `${target.host}/mirror`]), 'skopeo sync');
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
  console.log(`sync of ${TAGS} tags sharing an 8 MB base, registry -> registry (${runs} runs, median)`);
  console.log(`  berth  ${b.toFixed(0)} ms   (${berthTimes.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`  skopeo ${s.toFixed(0)} ms   (${skopeoTimes.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`  ratio berth/skopeo = ${(b / s).toFixed(2)} (goal <= 0.25)`);
} finally {
  for (const stop of stops.reverse()) await stop();
  rmSync(dir, { recursive: true, force: true });
}
