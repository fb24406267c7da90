import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { berthRuncBin, peer } from '../support/peers.js';
import { isolatedPodman, podmanRunFlags } from '../support/podman.js';
import { busyboxBundle, requireRuntime } from './support/busyboxBundle.js';

/** podman and buildah as PEERS.md says they work here: cgroupfs, vfs, no network, explicit ulimits, all state in a temp dir. */
function setUp(t: TestContext) {
  const b = busyboxBundle(t, ['/bin/true']);
  const base = join(b.dir, '..');
  const runtimeRoot = join(base, 'berth-runc-state');
  const wrapper = join(base, 'berth-runc');
  const calls = join(base, 'calls.log');
  writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> ${calls}\nexec ${process.execPath} ${berthRuncBin} --root ${runtimeRoot} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const { store, podmanArgs } = isolatedPodman(t, base);
  const tarball = join(base, 'rootfs.tar');
  execFileSync('tar', ['-C', b.rootfs, '-cf', tarball, '.']);
  return { b, base, wrapper, calls, store, podmanArgs, tarball, runtimeRoot };
}

test('podman runs an image with --runtime berth-runc', (t) => {
  if (!requireRuntime(t) || !peer(t, 'podman')) return;
  const s = setUp(t);
  execFileSync('podman', [...s.podmanArgs, 'import', s.tarball, 'localhost/berth-bb:1'], { stdio: 'ignore' });
  const r = spawnSync('podman', [...s.podmanArgs, '--runtime', s.wrapper, 'run', '--rm', ...podmanRunFlags, '--hostname', 'podhost', 'localhost/berth-bb:1', '/bin/sh', '-c', 'echo pid=$$; hostname; exit 3'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 3, r.stderr);
  assert.equal(r.stdout, 'pid=1\npodhost\n');
  const calls = readFileSync(s.calls, 'utf8');
  assert.match(calls, /^create .*--bundle/m);
  assert.match(calls, /^start /m);
  assert.match(calls, /^delete /m);
  assert.deepEqual(readdirSync(s.runtimeRoot), [], 'berth-runc state left after podman run --rm');
});

test('podman exec and stop work through berth-runc', (t) => {
  if (!requireRuntime(t) || !peer(t, 'podman')) return;
  const s = setUp(t);
  execFileSync('podman', [...s.podmanArgs, 'import', s.tarball, 'localhost/berth-bb:1'], { stdio: 'ignore' });
  const podman = (...args: string[]) => spawnSync('podman', [...s.podmanArgs, '--runtime', s.wrapper, ...args], { encoding: 'utf8', timeout: 60_000 });
  const started = podman('run', '-d', ...podmanRunFlags, '--name', 'bg', 'localhost/berth-bb:1', '/bin/sleep', '60');
  assert.equal(started.status, 0, started.stderr);
  const exec = podman('exec', 'bg', '/bin/sh', '-c', 'echo in-exec; cat /proc/1/cmdline | tr "\\0" " "');
  assert.equal(exec.status, 0, exec.stderr);
  assert.equal(exec.stdout, 'in-exec\n/bin/sleep 60 ');
  const stop = podman('stop', '-t', '1', 'bg');
  assert.equal(stop.status, 0, stop.stderr);
  assert.equal(podman('rm', 'bg').status, 0);
  assert.match(readFileSync(s.calls, 'utf8'), /^exec /m);
});

test('buildah builds a Dockerfile with RUN through berth-runc', (t) => {
  if (!requireRuntime(t) || !peer(t, 'buildah') || !peer(t, 'podman')) return;
  const s = setUp(t);
  execFileSync('podman', [...s.podmanArgs, 'import', s.tarball, 'localhost/berth-bb:1'], { stdio: 'ignore' });
  const ctx = join(s.base, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM localhost/berth-bb:1\nRUN echo built-by-berth-runc > /marker && echo "uid=$(id -u)"\n');
  const bud = spawnSync('buildah', [...s.store, 'bud', '--runtime', s.wrapper, '--network', 'none', '--isolation', 'oci', '-t', 'localhost/berth-built:1', ctx], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(bud.status, 0, bud.stderr);
  assert.match(bud.stdout, /uid=0/);
  assert.match(readFileSync(s.calls, 'utf8'), /^create .*buildah/m);
  const check = spawnSync('podman', [...s.podmanArgs, '--runtime', s.wrapper, 'run', '--rm', ...podmanRunFlags, 'localhost/berth-built:1', '/bin/cat', '/marker'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(check.status, 0, check.stderr);
  assert.equal(check.stdout, 'built-by-berth-runc\n');
});
