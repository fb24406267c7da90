import { BerthError } from '../errors/BerthError.js';
import { printable } from './tarReader.js';

/** Longest member name accepted (Linux PATH_MAX); longer names are refused, not truncated. */
const MAX_NAME_BYTES = 4096;

/**
 * Clean a member name lexically into components relative to the root:
 * a leading "/" or "./" is dropped (the archive's "/" is the root, as docker
 * and umoci treat it), "." and empty components vanish, and ".." pops a
 * component. A name that climbs above the root is refused outright: it has
 * no honest meaning in a layer. This is only the first line of defence; the
 * applier still resolves every component on disk inside the root.
 */
export function cleanMemberPath(name: string, what = 'member'): string[] {
  if (name.length > MAX_NAME_BYTES) throw new BerthError('LAYER_INVALID', `${what} name longer than ${MAX_NAME_BYTES} bytes`);
  if (name.includes('\0')) throw new BerthError('UNSAFE_PATH', `${what} name contains a NUL byte`);
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new BerthError('UNSAFE_PATH', `${what} "${printable(name)}" points outside the root`);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out;
}
