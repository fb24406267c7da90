import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private temp directory for staging archive contents. $BERTH_TMPDIR (else
 * $TMPDIR) chooses where: archives of many GB need room there.
 */
export async function makeWorkspace(purpose: string): Promise<string> {
  return mkdtemp(join(process.env.BERTH_TMPDIR ?? tmpdir(), `berth-${purpose}-`));
}

export async function removeWorkspace(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
