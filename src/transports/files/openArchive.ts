import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { BerthError } from '../../errors/BerthError.js';
import { writeThrough } from './streamToFile.js';
import { TarIndex } from './tarIndex.js';
import { makeWorkspace, removeWorkspace } from './tempWorkspace.js';

export interface OpenedArchive {
  index: TarIndex;
  close(): Promise<void>;
}

/**
 * Open an image archive for reading in place. A plain tar is indexed where it
 * is; a gzip-compressed one is first decompressed into a private temp file.
 */
export async function openArchive(file: string, what: string): Promise<OpenedArchive> {
  if (!(await isGzip(file))) return { index: await TarIndex.build(file, what), close: async () => undefined };
  const workspace = await makeWorkspace('archive');
  try {
    const plain = join(workspace, 'archive.tar');
    await writeThrough(createReadStream(file), [createGunzip()], plain, false).catch((err: unknown) => {
      if (err instanceof BerthError) throw err;
      throw new BerthError('ARCHIVE_INVALID', `${what}: ${(err as Error).message}`);
    });
    const index = await TarIndex.build(plain, what);
    return { index, close: () => removeWorkspace(workspace) };
  } catch (err) {
    await removeWorkspace(workspace);
    throw err;
  }
}

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new BerthError('NOT_FOUND', `${file} does not exist`);
    throw err;
  });
  try {
    if (!(await handle.stat()).isFile()) throw new BerthError('ARCHIVE_INVALID', `${file} is not a file`);
    const magic = Buffer.alloc(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    await handle.close();
  }
}
