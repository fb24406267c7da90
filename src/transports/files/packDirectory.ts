import { rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { writeTar, type LayerEntry } from '../../layer/tarWriter.js';
import { removeOrphanSiblings, syncDirectory, tempSibling } from './atomicWrite.js';
import { writeThrough } from './streamToFile.js';

/** One archive member: a directory, or a file copied from `source`. */
export type PackEntry = { name: string; directory: true } | { name: string; source: string };

/**
 * Write `entries` (in the given order) as a tar to `file`, through a temp
 * sibling renamed into place only when complete: a crash leaves the old file.
 * Headers are fixed (mtime 0, root owner) so the same content gives the same
 * tar. The writer is the layer room's, so archives and layers share one
 * encoding of names, sizes and PAX records.
 */
export async function packArchive(file: string, entries: PackEntry[]): Promise<void> {
  await removeOrphanSiblings(file);
  const temp = tempSibling(file);
  try {
    await writeThrough(writeTar(archiveMembers(entries), { keepOrder: true, mtime: new Date(0), uid: 0, gid: 0 }), [], temp);
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dirname(file));
}

async function archiveMembers(entries: PackEntry[]): Promise<LayerEntry[]> {
  return Promise.all(
    entries.map(async (entry): Promise<LayerEntry> => {
      if ('directory' in entry) return { path: entry.name, type: 'directory', mode: 0o755 };
      return { path: entry.name, type: 'file', mode: 0o644, content: { file: entry.source, size: (await stat(entry.source)).size } };
    }),
  );
}

/** Entries for every file under an OCI layout directory, in the order the spec lists them. */
export function layoutEntries(root: string, blobs: { algorithm: string; hex: string }[]): PackEntry[] {
  const entries: PackEntry[] = [
    { name: 'oci-layout', source: join(root, 'oci-layout') },
    { name: 'index.json', source: join(root, 'index.json') },
    { name: 'blobs', directory: true },
  ];
  for (const algorithm of [...new Set(blobs.map((b) => b.algorithm))].sort()) {
    entries.push({ name: `blobs/${algorithm}`, directory: true });
    for (const blob of blobs.filter((b) => b.algorithm === algorithm).sort((a, b) => a.hex.localeCompare(b.hex))) {
      entries.push({ name: `blobs/${algorithm}/${blob.hex}`, source: join(root, 'blobs', algorithm, blob.hex) });
    }
  }
  return entries;
}

/** Fail before any copying when the archive could not be written where asked. */
export async function checkArchiveTarget(file: string): Promise<void> {
  const parent = dirname(file);
  const info = await stat(parent).catch(() => undefined);
  if (!info?.isDirectory()) throw new BerthError('NOT_FOUND', `cannot write ${file}: directory ${parent} does not exist`);
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isDirectory()) throw new BerthError('ALREADY_EXISTS', `cannot write ${file}: it is a directory`);
}
