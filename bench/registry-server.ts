/**
 * berth registry serve vs docker-registry, side by side in one run.
 * Builds an OCI layout of about 100 MB (several gzip'd layers of random data),
 * then with skopeo as the client pushes it to each server and pulls it back
 * into a fresh layout, alternating servers each round; prints median times,
 * the ratio berth/docker-registry and each server's peak RSS (VmHWM of the
 * server process: berth runs as its own `berth registry serve` process).
 *
 *   node dist/bench/registry-server.js [--runs N] [--mb N]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildRandomLayout } from '../test/support/ociImage.js';
import { startBerthProcess, startDockerRegistryTarget, type RegistryTarget } from '../test/registry-server/support/targets.js';

const berthBin = new URL('../bin/berth.js', import.meta.url).pathname;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function peakRssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

function timed(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function skopeo(args: string[]): void {
  execFileSync('skopeo', args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function main(): Promise<void> {
  const runs = flag('runs', 5);
  const megabytes = flag('mb', 100);
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-registry-'));
  const servers: RegistryTarget[] = [];
  try {
    const layerCount = 4;
    const perLayer = Math.floor((megabytes << 20) / layerCount);
    const layout = await buildRandomLayout(join(work, 'layout'), 'v1', Array.from({ length: layerCount }, (_, i) => ({ [`data${i}.bin`]: perLayer })));
    const kinds = ['berth', 'docker-registry'] as const;
    const results = new Map<string, { push: number[]; pull: number[]; rssKiB: number }>(kinds.map((k) => [k, { push: [], pull: [], rssKiB: 0 }]));
    for (let round = 0; round < runs; round++) {
      // A fresh server and storage per round: skopeo remembers where blobs were and would
      // otherwise mount them from an earlier round instead of uploading.
      const order = round % 2 === 0 ? kinds : ([...kinds].reverse() as unknown as typeof kinds);
      for (const kind of order) {
        const root = join(work, `${kind}-root-${round}`);
        const server = kind === 'berth' ? await startBerthProcess(berthBin, root) : await startDockerRegistryTarget('docker-registry', root);
        servers.push(server);
        const ref = `docker://${server.host}/bench/app:v1`;
        const out = join(work, `pulled-${kind}-${round}`);
        const push = timed(() => skopeo(['copy', '--dest-tls-verify=false', `oci:${layout.dir}:v1`, ref]));
        const pull = timed(() => skopeo(['copy', '--src-tls-verify=false', ref, `oci:${out}:v1`]));
        const result = results.get(kind)!;
        result.push.push(push);
        result.pull.push(pull);
        result.rssKiB = Math.max(result.rssKiB, peakRssKiB(server.pid!));
        await server.close();
        rmSync(out, { recursive: true, force: true });
        rmSync(root, { recursive: true, force: true });
      }
    }
    const rows = kinds.map((kind) => {
      const t = results.get(kind)!;
      return { server: kind, push: median(t.push), pull: median(t.pull), total: median(t.push.map((p, i) => p + t.pull[i]!)), rssMiB: t.rssKiB / 1024 };
    });
    console.log(`image: ${layout.layers.length} layers, ~${megabytes} MB; skopeo push then pull; median of ${runs} runs`);
    for (const r of rows) {
      console.log(`${r.server.padEnd(16)} push ${r.push.toFixed(0).padStart(6)} ms   pull ${r.pull.toFixed(0).padStart(6)} ms   total ${r.total.toFixed(0).padStart(6)} ms   peak RSS ${r.rssMiB.toFixed(1)} MiB`);
    }
    const [b, d] = rows as [typeof rows[0], typeof rows[0]];
    console.log(`ratio berth/docker-registry: push ${(b.push / d.push).toFixed(2)}  pull ${(b.pull / d.pull).toFixed(2)}  total ${(b.total / d.total).toFixed(2)} (goal <= 1.00)`);
    console.log(`server peak RSS: berth ${b.rssMiB.toFixed(1)} MiB, docker-registry ${d.rssMiB.toFixed(1)} MiB`);
  } finally {
    for (const server of servers) await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
