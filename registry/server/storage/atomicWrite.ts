import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Write small metadata (tags, links) so that a reader sees either the old or
 * the new content, never half a file: write into the root's tmp folder, then
 * rename over the target (rename is atomic within one filesystem).
 */
export async function writeFileAtomic(tmpDir: string, target: string, data: string | Buffer): Promise<void> {
  const tmp = join(tmpDir, `meta-${randomUUID()}`);
  await writeFile(tmp, data);
  try {
    await mkdir(dirname(target), { recursive: true });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
