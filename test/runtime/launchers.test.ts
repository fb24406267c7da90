import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { packageFile } from '../../src/packageFile.js';
import { busyboxBundle, requireRuntime, runOnce } from './support/busyboxBundle.js';

/** The host's node and the shared libraries it loads, bound read-only at the same paths in the rootfs. */
function nodeMounts(rootfs: string) {
  const files = [process.execPath];
  for (const line of execFileSync('ldd', [process.execPath], { encoding: 'utf8' }).split('\n')) {
    const path = /(\/\S+) \(0x/.exec(line)?.[1];
    if (path) files.push(path);
  }
  return files.map((file) => {
    mkdirSync(join(rootfs, dirname(file)), { recursive: true });
    writeFileSync(join(rootfs, file), '');
    return { destination: file, type: 'bind', source: file, options: ['bind', 'ro'] };
  });
}

test('berth and berth-runc start where env is BusyBox\'s (no env -S), with node found on the PATH', (t) => {
  if (!requireRuntime(t)) return;
  const bundle = busyboxBundle(t, ['/bin/sh', '-c', '/opt/berth/dist/bin/berth-runc.cjs --version && /opt/berth/dist/bin/berth.js --version']);
  mkdirSync(join(bundle.rootfs, 'usr/bin'), { recursive: true });
  symlinkSync('/bin/busybox', join(bundle.rootfs, 'usr/bin/env'));
  cpSync(packageFile('dist/bin'), join(bundle.rootfs, 'opt/berth/dist/bin'), { recursive: true });
  copyFileSync(packageFile('package.json'), join(bundle.rootfs, 'opt/berth/package.json'));
  bundle.spec.mounts = [...(bundle.spec.mounts ?? []), ...nodeMounts(bundle.rootfs)];
  bundle.spec.process!.env = [`PATH=/bin:${dirname(process.execPath)}`];
  const r = runOnce(bundle);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^berth-runc version \d+\.\d+\.\d+\n[\s\S]*berth version \d+\.\d+\.\d+\n$/);
});
