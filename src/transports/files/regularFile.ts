import { stat } from 'node:fs/promises';

/** PATH when it is a regular file (following symlinks), else undefined: for sources that can hand a blob over as a file. */
export async function regularFile(path: string): Promise<string | undefined> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() ? path : undefined;
}
