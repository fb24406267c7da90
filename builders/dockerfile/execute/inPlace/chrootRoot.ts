import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { KeptPaths } from '../../../../src/layer/keptPaths.js';
import { chrootHelper } from '../../isolation.js';

/** The device nodes a RUN step expects in /dev (as runtimes create them), by name: major, minor. */
const DEVICES: Record<string, [number, number]> = { null: [1, 3], zero: [1, 5], full: [1, 7], random: [1, 8], urandom: [1, 9], tty: [5, 0] };

/**
 * The directory a build with `--isolation chroot` works in: each stage's files are laid there, and each RUN is
 * chrooted into it by berth's helper. /dev gets the usual device nodes and /proc a proc mount where the build may
 * mount one; both, with /sys, are kept out of every snapshot. Without /proc (an ordinary pod) what reads it fails
 * (ps, or BusyBox executing a script without a #! line through /proc/self/exe; heredoc scripts are read by the
 * shell itself, so they do not).
 */
export class ChrootRoot {
  readonly keep = new KeptPaths(['dev', 'proc', 'sys']);
  private procMounted = false;

  private constructor(readonly root: string, readonly helper: string) {}

  static async create(scratchRoot: string, onProgress: (line: string) => void): Promise<ChrootRoot> {
    mkdirSync(scratchRoot, { recursive: true, mode: 0o700 });
    const chroot = new ChrootRoot(mkdtempSync(join(scratchRoot, 'chroot-')), chrootHelper()!);
    chmodSync(chroot.root, 0o755);
    const dev = join(chroot.root, 'dev');
    for (const dir of ['dev', 'proc', 'sys', 'dev/shm', 'dev/pts']) mkdirSync(join(chroot.root, dir), { mode: 0o755 });
    chmodSync(join(dev, 'shm'), 0o1777);
    try {
      for (const [name, [major, minor]] of Object.entries(DEVICES)) execFileSync('mknod', ['-m', '666', join(dev, name), 'c', String(major), String(minor)], { stdio: 'pipe' });
    } catch {
      onProgress('warning: device nodes cannot be made here (no CAP_MKNOD): RUN steps get an empty /dev');
    }
    for (const [name, target] of [['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'], ['stderr', '/proc/self/fd/2']] as const) symlinkSync(target, join(dev, name));
    try {
      execFileSync('mount', ['-t', 'proc', 'proc', join(chroot.root, 'proc')], { stdio: 'pipe' });
      chroot.procMounted = true;
    } catch {
      // Without CAP_SYS_ADMIN (an ordinary pod) RUN has no /proc, as the isolation line said.
    }
    return chroot;
  }

  remove(): void {
    if (this.procMounted) {
      try {
        execFileSync('umount', ['-l', join(this.root, 'proc')], { stdio: 'pipe' });
      } catch {
        // Gone already; removing the tree below must still not cross into a mounted proc.
        return;
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
