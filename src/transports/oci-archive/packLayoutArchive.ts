import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { layoutEntries, packArchive } from '../files/packDirectory.js';

/** Tar the layout at `root` into `file` (atomically: temp sibling, then rename). */
export async function packLayoutArchive(root: string, file: string): Promise<void> {
  const blobs: { algorithm: string; hex: string }[] = [];
  for (const algorithm of await readdir(join(root, 'blobs'))) {
    for (const hex of await readdir(join(root, 'blobs', algorithm))) {
      if (/^[0-9a-f]+$/.test(hex)) blobs.push({ algorithm, hex });
    }
  }
  await packArchive(file, layoutEntries(root, blobs));
}
