/**
 * OpenPGP simple signing, berth vs skopeo, side by side in one run:
 * standalone-sign and standalone-verify of one manifest with the same key
 * (median of N runs each, alternating) and the ratio berth/skopeo. Both shell
 * out to gpg, so the ratio shows the overhead each tool adds around it.
 *
 *   node dist/bench/sign.js [--runs N]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const berthBin = new URL('../bin/berth.js', import.meta.url).pathname;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): number {
  const start = performance.now();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`${cmd} ${args[0]} failed: ${r.stderr}`);
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function main(): void {
  const runs = flag('runs', 9);
  const home = mkdtempSync(join(tmpdir(), 'bb-'));
  const env = { ...process.env, GNUPGHOME: home };
  try {
    execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Bench <bench@example.com>', 'rsa2048', 'sign', '0'], { env, stdio: 'ignore' });
    const fpr = (execFileSync('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env, encoding: 'utf8' }).split('\n').find((l) => l.startsWith('fpr:')) as string).split(':')[9] as string;
    const manifest = join(home, 'manifest.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'1'.repeat(64)}`, size: 2 },
        layers: [],
      }),
    );
    const ref = 'registry.example/bench/app:1';
    const times = { skopeoSign: [] as number[], berthSign: [] as number[], skopeoVerify: [] as number[], berthVerify: [] as number[] };
    for (let i = 0; i < runs; i++) {
      times.skopeoSign.push(timed('skopeo', ['standalone-sign', manifest, ref, fpr, '-o', join(home, 'skopeo.sig')], env));
      times.berthSign.push(timed(berthBin, ['standalone-sign', '-o', join(home, 'berth.sig'), manifest, ref, fpr], env));
      times.skopeoVerify.push(timed('skopeo', ['standalone-verify', manifest, ref, fpr, join(home, 'berth.sig')], env));
      times.berthVerify.push(timed(berthBin, ['standalone-verify', manifest, ref, fpr, join(home, 'skopeo.sig')], env));
    }
    const line = (what: string, berth: number[], skopeo: number[]) =>
      `${what.padEnd(18)} berth ${median(berth).toFixed(1)} ms  skopeo ${median(skopeo).toFixed(1)} ms  ratio berth/skopeo ${(median(berth) / median(skopeo)).toFixed(2)}`;
    process.stdout.write(`OpenPGP simple signing, median of ${runs} runs each (whole process, gpg included)\n`);
    process.stdout.write(`${line('standalone-sign', times.berthSign, times.skopeoSign)}\n`);
    process.stdout.write(`${line('standalone-verify', times.berthVerify, times.skopeoVerify)}\n`);
  } finally {
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
  }
}

main();
