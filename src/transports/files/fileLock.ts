import { hostname } from 'node:os';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { BerthError } from '../../errors/BerthError.js';
import { processAlive, tempSibling } from './atomicWrite.js';

const WAIT_LIMIT_MS = 120_000;

/**
 * Run `work` while holding an exclusive lock file (created atomically, as O_EXCL would).
 * The file records the holder's PID and host; a lock whose holder on this
 * host has died (kill -9 mid-commit) is broken instead of blocking forever.
 */
export async function withFileLock<T>(lockPath: string, work: () => Promise<T>): Promise<T> {
  await acquire(lockPath);
  try {
    return await work();
  } finally {
    await rm(lockPath, { force: true });
  }
}

async function acquire(lockPath: string): Promise<void> {
  const started = Date.now();
  let delay = 5;
  const owner = `${process.pid}@${hostname()}`;
  for (;;) {
    if (await tryCreate(lockPath, owner)) return;
    if (await breakIfStale(lockPath)) continue;
    if (Date.now() - started > WAIT_LIMIT_MS) {
      throw new BerthError('IO_ERROR', `timed out waiting for lock ${lockPath} (remove it if no berth process is using it)`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 200);
  }
}

/**
 * Write the owner into a private file, then hard-link it to the lock name:
 * link() is atomic and fails with EEXIST, so the lock is never seen empty.
 */
async function tryCreate(lockPath: string, owner: string): Promise<boolean> {
  const temp = tempSibling(lockPath);
  await writeFile(temp, owner, { flag: 'wx', mode: 0o644 });
  try {
    await link(temp, lockPath);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    await rm(temp, { force: true });
  }
}

/** Remove the lock if its holder is a dead process on this host; re-read just before removing to narrow the race. */
async function breakIfStale(lockPath: string): Promise<boolean> {
  const holder = await readHolder(lockPath);
  if (holder === undefined) return true;
  if (!isDeadLocalHolder(holder)) return false;
  const again = await readHolder(lockPath);
  if (again !== holder) return true;
  await rm(lockPath, { force: true });
  return true;
}

async function readHolder(lockPath: string): Promise<string | undefined> {
  try {
    return await readFile(lockPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function isDeadLocalHolder(holder: string): boolean {
  const at = holder.indexOf('@');
  if (at < 0 || holder.slice(at + 1) !== hostname()) return false;
  const pid = Number.parseInt(holder.slice(0, at), 10);
  return Number.isSafeInteger(pid) && pid > 0 && !processAlive(pid);
}
