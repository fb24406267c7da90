/**
 * Benchmark: sync a repository of 20 tags sharing a base layer from one
 * docker-registry to another, berth sync vs skopeo sync, side by side.
 * Each run syncs into a fresh destination registry.
 * Run: node dist/bench/sync.js [runs]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
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

  /** CPU seconds from /proc/PID/stat: user + system of the process itself, or of its waited-for children. */
  const cpuSeconds = (pid: number | 'self', of: 'itself' | 'children' = 'itself'): number => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const first = of === 'itself' ? 11 : 13;
    return (Number(fields[first]) + Number(fields[first + 1])) / 100;
  };
  const cores = availableParallelism();
  /** CPU of the whole exchange (client, source and destination registry) per run: wall time is at least this / cores. */
  const exchangeCpu: Record<'berth' | 'skopeo', number[]> = { berth: [], skopeo: [] };
  const registryCpu: Record<'berth' | 'skopeo', number[]> = { berth: [], skopeo: [] };
  /** CPU of both registries alone per run: no client, however frugal, makes them need less. */
  const registriesCpu: Record<'berth' | 'skopeo', number[]> = { berth: [], skopeo: [] };
  const time = async (tool: 'berth' | 'skopeo'): Promise<number> => {
    const target = await startDockerRegistry(registryBin, join(dir, `${tool}-${Date.now()}`));
    try {
      const cpuBefore = cpuSeconds(target.pid);
      const sourceBefore = cpuSeconds(source.pid);
      const clientBefore = cpuSeconds('self', 'children');
      const started = process.hrtime.bigint();
      if (tool === 'berth') await ok(berthAsync(['sync', '--quiet', ...(process.env.BERTH_FLAGS?.split(' ').filter(Boolean) ?? []), '--src', 'docker', '--dest', 'docker', `${source.host}/bench/app`, `${target.host}/mirror`]), 'berth sync');
      else await ok(run(skopeo, ['sync', '--src', 'docker', '--dest', 'docker', '--src-tls-verify=false', '--dest-tls-verify=false', `${source.host}/bench/app`, `${target.host}/mirror`]), 'skopeo sync');
      const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
      const destination = cpuSeconds(target.pid) - cpuBefore;
      const registries = destination + cpuSeconds(source.pid) - sourceBefore;
      registryCpu[tool].push(destination);
      registriesCpu[tool].push(registries);
      exchangeCpu[tool].push(registries + cpuSeconds('self', 'children') - clientBefore);
      return elapsed;
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
  console.log(`  destination registry CPU (median): ${median(registryCpu.berth).toFixed(2)} s serving berth, ${median(registryCpu.skopeo).toFixed(2)} s serving skopeo`);
  const bound = (median(exchangeCpu.berth) / cores) * 1000;
  console.log(`  CPU of berth's whole exchange (berth + both registries): ${median(exchangeCpu.berth).toFixed(2)} s, so at least ${bound.toFixed(0)} ms on ${cores} cores = ${(bound / s).toFixed(2)} of skopeo`);
  const registriesBound = (median(registriesCpu.berth) / cores) * 1000;
  console.log(`  of which the two registries: ${median(registriesCpu.berth).toFixed(2)} s, at least ${registriesBound.toFixed(0)} ms = ${(registriesBound / s).toFixed(2)} of skopeo with a client that costs nothing`);
  console.log(`  ratio berth/skopeo = ${(b / s).toFixed(2)} (goal <= 0.25)`);
} finally {
  for (const stop of stops.reverse()) await stop();
  rmSync(dir, { recursive: true, force: true });
}
