import { open } from 'node:fs/promises';
import { BerthError } from '../../errors/BerthError.js';

/** Read a file refusing anything larger than `limit` (untrusted layouts may hold huge "manifests"). */
export async function readBounded(path: string, limit: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new BerthError('LAYOUT_INVALID', `${path} is not a regular file`);
    if (info.size > limit) throw new BerthError('MANIFEST_INVALID', `${path} is larger than ${limit} bytes`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
