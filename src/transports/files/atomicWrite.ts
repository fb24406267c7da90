import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A sibling name no other writer will pick: `.NAME.berth-tmp-PID-RANDOM` (the PID lets cleaners spot orphans). */
export function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}${TEMP_MARK}${process.pid}-${randomBytes(6).toString('hex')}`);
}

export const TEMP_MARK = '.berth-tmp-';

/**
 * Replace `path` with `data` so that a reader (or a crash) sees either the old
 * file or the new one, never a torn one: write a sibling, fsync, rename.
 * `durable: false` skips the fsyncs, for staging files that are thrown away after a crash anyway.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, durable = true): Promise<void> {
  const temp = tempSibling(path);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  if (durable) await syncDirectory(dirname(path));
}

/** Persist a rename: the directory entry itself must reach the disk. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
  } finally {
    await handle.close();
  }
}

/** Whether the process that wrote a `...berth-tmp-PID-...` name is gone, so its leftovers can be removed. */
export function isOrphanTemp(name: string): boolean {
  const at = name.indexOf(TEMP_MARK);
  if (at < 0) return false;
  const pid = Number.parseInt(name.slice(at + TEMP_MARK.length), 10);
  return Number.isSafeInteger(pid) && pid > 0 && !processAlive(pid);
}

export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove temp siblings of `path` (see tempSibling) whose writer process has died. */
export async function removeOrphanSiblings(path: string): Promise<void> {
  const prefix = `.${basename(path)}${TEMP_MARK}`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  for (const name of names) {
    if (name.startsWith(prefix) && isOrphanTemp(name)) await rm(join(dirname(path), name), { recursive: true, force: true });
  }
}
