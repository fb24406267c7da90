import { existsSync } from 'node:fs';
import { cgroupPids, removeCgroup, type ContainerCgroup } from './containerCgroup.js';

/**
 * A killed process leaves its cgroup a moment later; retry, killing whatever is still inside now and
 * then, so nothing is left behind.
 */
export function removeCgroupSoon(cg: Pick<ContainerCgroup, 'created'>): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  // Zombies keep a cgroup busy until reaped; a detached container is reaped by init (or a subreaper), which
  // can take seconds on a loaded machine: wait up to 30 s.
  for (let attempt = 0; attempt < 1500; attempt++) {
    removeCgroup(cg);
    const left = cg.created.filter((d) => existsSync(d));
    if (left.length === 0) return;
    if (attempt % 50 === 49) {
      for (const pid of cgroupPids(left)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    Atomics.wait(sleeper, 0, 0, 20);
  }
  const left = cg.created.filter((d) => existsSync(d));
  if (left.length) process.stderr.write(`berth-runc: warning: cgroup ${left[0]} is still busy and was left behind\n`);
}
