import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Platform } from '../oci/platform.js';
import type { ImageSource } from '../transports/types.js';
import { processAlive } from '../transports/files/atomicWrite.js';
import { withFileLock } from '../transports/files/fileLock.js';
import { storeRoot } from './storeRoot.js';

/** Temp unpacks are `.tmp-PID-RANDOM`: the PID lets prune tell an orphan (its process died) from one in progress. */
const TEMP_PREFIX = '.tmp-';

export interface RootfsPruneReport {
  /** Digests whose unpacked image was removed. */
  removed: string[];
  /** Digests kept because a container still uses them. */
  kept: string[];
  /** Orphaned temp unpacks removed (their process died mid-unpack). */
  orphans: number;
}

/**
 * The images `berth run` unpacked, once per manifest digest (rootfs/ + config.json), shared read-only by
 * every container of the image (each gets an overlay on top). An entry is unpacked into a temp dir under a
 * per-digest lock and renamed into place, so it is always complete and two processes never unpack the same
 * image at once. Each container that takes an entry is recorded beside it (DIGEST.users/ID), so that
 * `prune` removes only what no living container uses.
 */
export class RootfsCache {
  readonly dir: string;

  constructor(root?: string) {
    this.dir = join(storeRoot(root), 'rootfs-cache');
  }

  entryDir(digest: string): string {
    return join(this.dir, digest.replace(':', '-'));
  }

  /**
   * The unpacked image for `digest`, unpacked with `unpack(dir)` when missing; `user` (a container id) is
   * recorded as using it.
   */
  async acquire(digest: string, user: string, unpack: (dir: string) => Promise<void>): Promise<string> {
    const entry = this.entryDir(digest);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    return withFileLock(`${entry}.lock`, async () => {
      await mkdir(`${entry}.users`, { recursive: true, mode: 0o700 });
      await writeFile(join(`${entry}.users`, user), '');
      if (existsSync(join(entry, 'config.json'))) return entry;
      const temp = join(this.dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
      try {
        await unpack(temp);
        await rename(temp, entry);
      } catch (err) {
        await rm(temp, { recursive: true, force: true });
        throw err;
      }
      return entry;
    });
  }

  /** The unpacked image of `source`'s instance `digest` (rootfs/ and config.json), unpacked when missing. */
  async acquireImage(source: ImageSource, digest: string, user: string, options: { platform?: Platform; onWarning?: (message: string) => void } = {}): Promise<string> {
    return this.acquire(digest, user, async (dir) => {
      // Loaded only when an image must be unpacked: most runs find it here.
      const { unpackImage } = await import('../bundle/unpackImage.js');
      await unpackImage(source, dir, options);
    });
  }

  /**
   * Remove every entry that no container in `isContainer` still uses, and temp unpacks whose process died.
   * An entry is removed under its lock, so a run taking it at the same moment either finds it whole or
   * unpacks it again.
   */
  async prune(isContainer: (id: string) => boolean): Promise<RootfsPruneReport> {
    const report: RootfsPruneReport = { removed: [], kept: [], orphans: 0 };
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return report;
      throw err;
    }
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX)) {
        const pid = Number(name.slice(TEMP_PREFIX.length).split('-')[0]);
        if (Number.isInteger(pid) && !processAlive(pid)) {
          await rm(join(this.dir, name), { recursive: true, force: true });
          report.orphans++;
        }
        continue;
      }
      // Locks, their staging files and users/ directories belong to an entry.
      if (name.startsWith('.') || name.endsWith('.lock') || name.endsWith('.users')) continue;
      const entry = join(this.dir, name);
      const digest = name.replace('-', ':');
      await withFileLock(`${entry}.lock`, async () => {
        const users = await readdir(`${entry}.users`).catch(() => [] as string[]);
        const living = users.filter((id) => isContainer(id));
        if (living.length > 0) {
          // Containers that are gone no longer count; the living keep the entry.
          for (const gone of users.filter((id) => !living.includes(id))) await rm(join(`${entry}.users`, gone), { force: true });
          report.kept.push(digest);
          return;
        }
        await rm(entry, { recursive: true, force: true });
        await rm(`${entry}.users`, { recursive: true, force: true });
        report.removed.push(digest);
      });
    }
    return report;
  }
}
