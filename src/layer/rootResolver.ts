import { lstatSync, mkdirSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { BerthError } from '../errors/BerthError.js';
import { printable } from './tarReader.js';

/** Symlinks followed while resolving one path, as Linux's MAXSYMLINKS-style limit. */
const MAX_SYMLINKS = 255;

/** A path as the kernel sees it: Node accepts Buffers, which keeps non-UTF-8 names intact. */
export function fsPath(byteString: string): Buffer {
  return Buffer.from(byteString, 'latin1');
}

export function lstatOrUndefined(byteString: string): Stats | undefined {
  return lstatSync(fsPath(byteString), { throwIfNoEntry: false });
}

/**
 * Resolves paths inside a root directory the way a chroot would: every
 * component is looked up on disk with lstat, symlinks are expanded with
 * absolute targets re-rooted and ".." clamped at the root, so the result is a
 * chain of real directories that all lie inside the root. No string check is
 * trusted on its own. Resolved directories are cached; callers must call
 * `invalidate()` whenever they remove or replace a directory or symlink.
 *
 * All paths are byte strings (latin1) relative to the root, components
 * joined by "/", "" being the root itself.
 */
export class RootResolver {
  /** The root as an absolute byte string without a trailing slash. */
  readonly root: string;
  private cache = new Map<string, string>();
  /**
   * Whether any directory seen while resolving (the root included) has the
   * set-gid bit: new files there take the directory's group, so the applier
   * cannot assume a new file's owner.
   */
  setgidSeen: boolean;
  /** Called for each directory created implicitly while resolving (so the applier can record it). */
  onImplicitDirectory: ((rel: string) => void) | undefined;

  constructor(rootDir: string) {
    const real = realpathSync(rootDir);
    this.root = Buffer.from(real).toString('latin1').replace(/\/+$/, '');
    this.setgidSeen = (lstatSync(real).mode & 0o2000) !== 0;
  }

  abs(rel: string): string {
    return rel === '' ? this.root || '/' : `${this.root}/${rel}`;
  }

  invalidate(): void {
    this.cache.clear();
  }

  /**
   * Resolve a directory given as cleaned components. With `create`, missing
   * components are created as 0755 directories; without, a missing component
   * yields undefined. A component that exists but is not a directory (after
   * following symlinks inside the root) is an error.
   */
  resolveDirectory(parts: readonly string[], create: boolean): string | undefined {
    const key = parts.join('/');
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const resolved = this.walk(parts, create, key);
    if (resolved !== undefined) this.cache.set(key, resolved);
    return resolved;
  }

  /** Resolve a full path, following a final symlink too (for reading files such as /etc/passwd); undefined when missing. */
  resolveFollow(parts: readonly string[]): string | undefined {
    return this.walk(parts, false, parts.join('/'), true);
  }

  private walk(parts: readonly string[], create: boolean, key: string, finalMayBeFile = false): string | undefined {
    const queue = [...parts];
    const stack: string[] = [];
    let links = 0;
    while (queue.length > 0) {
      const part = queue.shift()!;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        stack.pop();
        continue;
      }
      const rel = stack.length === 0 ? part : `${stack.join('/')}/${part}`;
      const cached = this.cache.get(rel);
      if (cached === rel) {
        stack.push(part);
        continue;
      }
      const st = lstatOrUndefined(this.abs(rel));
      if (!st) {
        if (!create) return undefined;
        mkdirSync(fsPath(this.abs(rel)), { mode: 0o755 });
        this.onImplicitDirectory?.(rel);
        stack.push(part);
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw new BerthError('UNSAFE_PATH', `too many levels of symbolic links in "${printable(key)}"`);
        const target = readlinkSync(fsPath(this.abs(rel)), { encoding: 'buffer' }).toString('latin1');
        if (target.startsWith('/')) stack.length = 0;
        queue.unshift(...target.split('/'));
        continue;
      }
      if (!st.isDirectory()) {
        if (finalMayBeFile && queue.every((q) => q === '' || q === '.')) {
          stack.push(part);
          continue;
        }
        if (finalMayBeFile) return undefined;
        throw new BerthError('LAYER_INVALID', `"${printable(key)}": component "${printable(rel)}" is not a directory`);
      }
      if (st.mode & 0o2000) this.setgidSeen = true;
      this.cache.set(rel, rel);
      stack.push(part);
    }
    return stack.join('/');
  }
}
