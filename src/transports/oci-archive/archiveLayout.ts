import { link, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { extractArchive } from '../files/extractArchive.js';
import { layoutEntries, packArchive } from '../files/packDirectory.js';
import { INDEX_FILE, LAYOUT_FILE } from '../oci-layout/OciLayout.js';

const BLOB_NAME = /^blobs\/(sha256|sha512)\/([0-9a-f]{64}|[0-9a-f]{128})$/;

/** Unpack an oci-archive into `workspace`/layout and return that layout's path; only layout members are kept. */
export async function unpackArchiveLayout(file: string, workspace: string): Promise<string> {
  const raw = join(workspace, 'raw');
  const layout = join(workspace, 'layout');
  await mkdir(raw);
  const files = await extractArchive(file, raw, file);
  if (!files.has(LAYOUT_FILE) || !files.has(INDEX_FILE)) {
    throw new BerthError('ARCHIVE_INVALID', `${file} is not an OCI archive (no ${LAYOUT_FILE} or ${INDEX_FILE} at its top)`);
  }
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await mkdir(join(layout, 'blobs', 'sha512'), { recursive: true });
  for (const [name, extracted] of files) {
    if (name === LAYOUT_FILE || name === INDEX_FILE || BLOB_NAME.test(name)) await link(extracted.path, join(layout, name));
  }
  return layout;
}

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
