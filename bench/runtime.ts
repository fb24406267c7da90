/**
 * berth-runc start-up, side by side with runc on the same busybox bundle running /bin/true:
 *   1. `berth-runc run` CLI 20× vs `runc run` 20× (and `node -e ''` 20× for the Node start-up floor)
 *   2. the library API (runContainer, no CLI start-up: how builders start RUN steps) 20× vs `runc run` 20×
 *   3. `berth run --rm IMAGE /bin/true` vs `podman run --rm IMAGE /bin/true` (image to exit; when podman is installed)
 * Needs root, /bin/busybox and runc. Run: node dist/bench/runtime.js [iterations]
 *
 * Both CLIs run as installed (their first line starts Node). NODE_EXTRA_CA_CERTS would make Node parse
 * that bundle before running any code (about 30 ms here); the launcher lines keep it from Node's start-up,
 * so Node's floor is `node -e ''` without it, printed beside the figure with it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBaseImage } from '../fixtures/base-image/makeBaseImage.js';
import { runContainer } from '../src/runtime/lifecycle/run.js';
import { defaultSpec } from '../src/runtime/spec/defaultSpec.js';

const iterations = Number(process.argv[2] ?? 20);
const extraCa = process.env.NODE_EXTRA_CA_CERTS;
const withoutExtraCa = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
const cli = new URL('../bin/berth-runc.cjs', import.meta.url).pathname;
const berthCli = new URL('../bin/berth.js', import.meta.url).pathname;

function makeBundle(base: string): string {
  const bundle = join(base, 'bundle');
  const rootfs = join(bundle, 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  execFileSync('chmod', ['755', join(rootfs, 'bin/busybox')]);
  symlinkSync('busybox', join(rootfs, 'bin/true'));
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.args = ['/bin/true'];
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  return bundle;
}

/** Time one call in ms. */
function timed(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function timedAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const line = (label: string, total: number) =>
  console.log(`${label.padEnd(36)} ${(total / iterations).toFixed(1).padStart(7)} ms/run  (${total.toFixed(0)} ms for ${iterations})`);

function check(r: ReturnType<typeof spawnSync>, what: string): void {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${String(r.stderr)}`);
}

// Lower-case on purpose: podman names an image pulled from an oci: path after the path.
const base = join(tmpdir(), `berth-bench-runtime-${process.pid}`);
mkdirSync(base);
try {
  const bundle = makeBundle(base);
  const berthRoot = join(base, 'berth-state');
  const runcRoot = join(base, 'runc-state');
  const runc = (i: number) => check(spawnSync('runc', ['--root', runcRoot, 'run', '--bundle', bundle, `r${i + 1}`], { stdio: 'pipe' }), 'runc run');
  const berth = (id: string) => check(spawnSync(cli, ['--root', berthRoot, 'run', '--bundle', bundle, id], { stdio: 'pipe' }), 'berth-runc run');
  const node = (env = process.env) => check(spawnSync(process.execPath, ['-e', ''], { stdio: 'pipe', env }), 'node');

  console.log(`berth-runc vs runc: ${iterations} × run of a busybox bundle running /bin/true (interleaved, so load affects all alike)`);
  runc(-1);
  berth('b0');
  const totals = { runc: 0, berth: 0, node: 0, api: 0, nodeNoCa: 0 };
  for (let i = 0; i < iterations; i++) {
    totals.runc += timed(() => runc(i));
    totals.berth += timed(() => berth(`b${i + 1}`));
    totals.node += timed(() => node());
    if (extraCa) totals.nodeNoCa += timed(() => node(withoutExtraCa(process.env)));
    totals.api += await timedAsync(async () => {
      const status = await runContainer({ root: berthRoot, id: `lib${i}`, bundle, stdio: ['ignore', 'ignore', 'inherit'] });
      if (status !== 0) throw new Error(`library run exited ${status}`);
    });
  }
  line('runc run', totals.runc);
  line('berth-runc run (CLI)', totals.berth);
  line("node -e '' (Node start-up alone)", totals.node);
  if (extraCa) line("node -e '' without NODE_EXTRA_CA_CERTS", totals.nodeNoCa);
  line('library runContainer() (no CLI)', totals.api);
  const floor = extraCa ? totals.nodeNoCa : totals.node;
  console.log(`ratio berth-runc CLI / runc:          ${(totals.berth / totals.runc).toFixed(2)}   (goal ≤ 2.0; the Node start-up it pays is ${(floor / totals.runc).toFixed(2)}× runc)`);
  console.log(`ratio library API / runc:             ${(totals.api / totals.runc).toFixed(2)}   (goal ≤ 1.0)`);
  if (spawnSync('sh', ['-c', 'command -v podman']).status === 0) await imageToExit(base);
  else console.log('podman is not installed: berth run vs podman run skipped');
} finally {
  rmSync(base, { recursive: true, force: true });
}

/** `berth run` and `podman run` from the same image (an offline busybox layout) to the exit of /bin/true. */
async function imageToExit(base: string): Promise<void> {
  const layout = join(base, 'layout');
  await makeBaseImage(layout, { tag: 'bb' });
  const env = { ...process.env, BERTH_ROOT: join(base, 'berth-root') };
  check(spawnSync(berthCli, ['copy', `oci:${layout}:bb`, 'berth:localhost/bench:1'], { env, stdio: 'pipe' }), 'berth copy');
  const podmanArgs = ['--root', join(base, 'p-store'), '--runroot', join(base, 'p-run'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--tmpdir', join(base, 'p-tmp'), '--events-backend', 'file'];
  const pulled = spawnSync('podman', [...podmanArgs, 'pull', '-q', `oci:${layout}:bb`], { encoding: 'utf8' });
  check(pulled, 'podman pull');
  check(spawnSync('podman', [...podmanArgs, 'tag', pulled.stdout.trim(), 'localhost/bench:1'], { stdio: 'pipe' }), 'podman tag');
  const berthRun = () => check(spawnSync(berthCli, ['run', '--rm', 'localhost/bench:1', '/bin/true'], { env, stdio: 'pipe' }), 'berth run');
  const podmanRun = () => check(spawnSync('podman', [...podmanArgs, '--runtime', 'runc', 'run', '--rm', '--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', 'localhost/bench:1', '/bin/true'], { stdio: 'pipe' }), 'podman run');
  berthRun();
  podmanRun();
  const totals = { berth: 0, podman: 0 };
  for (let i = 0; i < iterations; i++) {
    totals.berth += timed(() => berthRun());
    totals.podman += timed(podmanRun);
  }
  console.log('');
  console.log(`image to exit: ${iterations} × run --rm of a busybox image running /bin/true`);
  line('podman run --rm', totals.podman);
  line('berth run --rm', totals.berth);
  console.log(`ratio berth run / podman run:         ${(totals.berth / totals.podman).toFixed(2)}   (goal ≤ 0.5)`);
  spawnSync('podman', [...podmanArgs, 'system', 'reset', '-f'], { stdio: 'pipe' });
}
