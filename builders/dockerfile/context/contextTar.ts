import { createReadStream, mkdirSync } from 'node:fs';
import { applyLayer } from '../../../src/layer/applyLayer.js';
import { BerthError } from '../../../src/errors/BerthError.js';

/**
 * A build context given as a tar file (kaniko's tar:// and .tar.gz contexts), unpacked into `dir` by the hostile-tar
 * applier: no member reaches outside it, whatever its names and links say. gzip and zstd are detected by magic.
 */
export async function extractContextTar(file: string, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let stream;
  try {
    stream = createReadStream(file);
    await new Promise<void>((resolve, reject) => stream!.once('open', () => resolve()).once('error', reject));
  } catch {
    throw new BerthError('NOT_FOUND', `cannot read the context tar ${file}`);
  }
  await applyLayer(dir, stream);
  return dir;
}
