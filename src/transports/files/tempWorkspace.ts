import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOrphanTemp, TEMP_MARK } from './atomicWrite.js';

/**
 * A private temp directory for staging archive contents. $BERTH_TMPDIR (else
 * $TMPDIR) chooses where: archives of many GB need room there. Its name
 * carries our PID, so workspaces of killed processes are removed next time.
 */
export async function makeWorkspace(purpose: string): Promise<string> {
  const base = process.env.BERTH_TMPDIR ?? tmpdir();
  const prefix = `berth-${purpose}${TEMP_MARK}`;
  for (const name of await readdir(base).catch(() => [] as string[])) {
    if (name.startsWith(prefix) && isOrphanTemp(name)) await rm(join(base, name), { recursive: true, force: true });
  }
  return mkdtemp(join(base, `${prefix}${process.pid}-`));
}

export async function removeWorkspace(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
