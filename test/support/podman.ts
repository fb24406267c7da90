import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

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
