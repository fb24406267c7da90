import { execFileSync, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { berthRuncBin, isRoot, tempDir } from '../../support/peers.js';
import type { Spec } from '../../../src/oci/runtimeSpec.js';

export const helperPath = new URL('../../../native/berth-runc-init', import.meta.url).pathname;
export const relayPath = new URL('../../../native/berth-console-relay', import.meta.url).pathname;
const buildScript = new URL('../../../../src/runtime/native/build.sh', import.meta.url).pathname;

/** Skip unless root with busybox-static; make sure the C helper is built. */
export function requireRuntime(t: TestContext): boolean {
  if (!isRoot()) {
    t.skip('berth-runc tests need root');
    return false;
  }
  if (!existsSync('/bin/busybox')) {
    if (process.env.BERTH_REQUIRE_PEERS === '1') throw new Error('/bin/busybox (apt busybox-static) is required');
    t.skip('/bin/busybox (busybox-static) is not installed');
    return false;
  }
  if (!existsSync(helperPath) || !existsSync(relayPath)) execFileSync('sh', [buildScript], { stdio: 'inherit' });
  return true;
}

export interface Bundle {
  dir: string;
  root: string;
  rootfs: string;
  spec: Spec;
  write(): void;
}

/** A bundle whose rootfs is the host's busybox-static and its applets; config.json from `berth-runc spec`. */
export function busyboxBundle(t: TestContext, args: string[]): Bundle {
  const base = tempDir(t, 'berth-runc-');
  const dir = join(base, 'bundle');
  const root = join(base, 'state');
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  execFileSync('chmod', ['755', join(rootfs, 'bin/busybox')]);
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
  const made = spawnSync(process.execPath, [berthRuncBin, 'spec', '--bundle', dir], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`berth-runc spec failed: ${made.stderr}`);
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Spec;
  spec.process!.terminal = false;
  spec.process!.args = args;
  spec.process!.env = ['PATH=/bin'];
  const slug = t.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 24);
  spec.linux!.cgroupsPath = `/berth-runc-test-${slug}-${Math.random().toString(36).slice(2, 8)}`;
  const bundle: Bundle = { dir, root, rootfs, spec, write: () => writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2)) };
  bundle.write();
  t.after(() => {
    // Whatever a test left running is killed and removed through the runtime itself.
    for (const id of runtime(bundle, ['list', '-q']).stdout.split('\n').filter(Boolean)) runtime(bundle, ['delete', '--force', id]);
  });
  return bundle;
}

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run berth-runc with --root of this bundle, in the bundle directory. */
export function runtime(bundle: Bundle, args: string[], options: SpawnSyncOptions = {}): Result {
  const r = spawnSync(process.execPath, [berthRuncBin, '--root', bundle.root, ...args], { cwd: bundle.dir, encoding: 'utf8', timeout: 60_000, ...options });
  return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** `run` the bundle with a fresh id and return the result. */
export function runOnce(bundle: Bundle, options: SpawnSyncOptions = {}, id = `c${Math.random().toString(36).slice(2, 8)}`): Result {
  bundle.write();
  return runtime(bundle, ['run', id], options);
}
