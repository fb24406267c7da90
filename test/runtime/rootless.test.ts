import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { makeBaseImage } from '../../fixtures/base-image/makeBaseImage.js';
import { berthBin, berthRuncBin } from '../support/peers.js';
import { busyboxBundle, requireRuntime } from './support/busyboxBundle.js';

const NOBODY = 65534;

/** Run as nobody (setpriv), skipping when this kernel refuses unprivileged user namespaces. */
function asNobody(t: TestContext): ((args: string[], env: Record<string, string>) => { status: number | null; stdout: string; stderr: string }) | undefined {
  const probe = spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', 'unshare', '--user', 'true']);
  if (probe.status !== 0) {
    t.skip('unprivileged user namespaces are not available here');
    return undefined;
  }
  return (args, env) => {
    const r = spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}

function chownTree(dir: string): void {
  execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, dir]);
}

test('berth-runc runs a rootless container as an unprivileged user (spec --rootless)', (t) => {
  if (!requireRuntime(t)) return;
  const run = asNobody(t);
  if (!run) return;
  const b = busyboxBundle(t, ['/bin/sh', '-c', 'id -u; echo $$; cat /proc/self/uid_map']);
  const base = join(b.dir, '..');
  chownTree(base);
  chmodSync(base, 0o755);
  const rootlessConfig = join(base, 'config.json');
  // spec --rootless, written by the unprivileged user itself, maps container root to that user.
  const made = spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, berthRuncBin, 'spec', '--rootless', '--bundle', base], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const config = JSON.parse(execFileSync('cat', [rootlessConfig], { encoding: 'utf8' }));
  assert.deepEqual(config.linux.uidMappings, [{ containerID: 0, hostID: NOBODY, size: 1 }]);
  config.process.terminal = false;
  config.process.args = b.spec.process!.args;
  config.root.path = b.rootfs;
  writeFileSync(rootlessConfig, JSON.stringify(config));
  chownTree(base);
  const r = run([berthRuncBin, '--root', join(base, 'state-nobody'), 'run', '--bundle', base, 'rootless1'], { HOME: base });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^0\n1\n\s+0\s+65534\s+1\n$/);
  assert.deepEqual(readdirSync(join(base, 'state-nobody')), []);
});

test('berth run works for an unprivileged user (rootless unpack, user namespace)', async (t) => {
  if (!requireRuntime(t)) return;
  const run = asNobody(t);
  if (!run) return;
  const b = busyboxBundle(t, ['/bin/true']);
  const base = join(b.dir, '..');
  await makeBaseImage(join(base, 'layout'), { tag: 'bb' });
  chownTree(base);
  chmodSync(base, 0o755);
  const r = run([berthBin, 'run', '--rm', `oci:${join(base, 'layout')}:bb`, '/bin/sh', '-c', 'id -u; cat /proc/self/uid_map'], { BERTH_ROOT: join(base, 'berth'), HOME: base, XDG_RUNTIME_DIR: join(base, 'run') });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^0\n\s+0\s+65534\s+1\n$/);
});
