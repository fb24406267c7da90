import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { peer } from './peers.js';
import { berthAsync } from './runCli.js';

/** What `podman run` needs here besides the image (PEERS.md): no network, limits this root can grant. */
export const podmanRunFlags = ['--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

/**
 * podman (and buildah, through `store`) as PEERS.md says they work here: cgroupfs, vfs, all state under `base`,
 * removed with whatever it left mounted when the test ends.
 */
export function isolatedPodman(t: TestContext, base: string): { store: string[]; podmanArgs: string[] } {
  const store = ['--root', join(base, 'store'), '--runroot', join(base, 'run'), '--storage-driver', 'vfs'];
  const podmanArgs = [...store, '--cgroup-manager', 'cgroupfs', '--tmpdir', join(base, 'tmp'), '--events-backend', 'file'];
  t.after(() => {
    spawnSync('podman', [...podmanArgs, 'rm', '-af']);
    spawnSync('podman', [...podmanArgs, 'system', 'reset', '-f']);
    // Anything still mounted under the temp dir (a podman shm) must go before the dir is removed.
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(base));
    for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
  });
  return { store, podmanArgs };
}

/**
 * An image berth made, run by podman (with runc) as it is: loaded from a docker-archive berth writes, run with its
 * own entrypoint and command. Its stdout, or undefined when podman is not installed (the test is skipped for it).
 */
export async function runUnderPodman(t: TestContext, dir: string, image: string, env: Record<string, string>): Promise<string | undefined> {
  if (!peer(t, 'podman')) return undefined;
  const { podmanArgs } = isolatedPodman(t, join(dir, 'podman'));
  const archive = join(dir, 'podman.tar');
  const saved = await berthAsync(['copy', '-q', image, `docker-archive:${archive}:localhost/berth-built:1`], { env });
  assert.equal(saved.status, 0, saved.stderr);
  const loaded = spawnSync('podman', [...podmanArgs, 'load', '-q', '-i', archive], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(loaded.status, 0, loaded.stderr);
  const ran = spawnSync('podman', [...podmanArgs, '--runtime', 'runc', 'run', '--rm', ...podmanRunFlags, 'localhost/berth-built:1'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(ran.status, 0, ran.stderr);
  return ran.stdout;
}
