import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { writeTar, type LayerEntry, type TarWriterOptions } from './tarWriter.js';
import type { TarEntryType } from './tarReader.js';

export interface DirectoryLayerOptions extends TarWriterOptions {
  /** Place the tree under this path in the layer (e.g. a COPY destination). */
  prefix?: string;
}

export interface DiffOptions extends TarWriterOptions {
  /** Compare file contents when size and mtime agree (slower; catches same-size rewrites within one mtime tick). */
  compareContent?: boolean;
}

interface Found {
  path: string;
  abs: string;
  st: Stats;
}

/**
 * A layer holding the whole tree under `dir` (the directory itself is not an
 * entry). Hardlinked files become hardlink members pointing at the first path
 * in sorted order, so the layer applies in the order it is written.
 */
export function createLayerFromDirectory(dir: string, options: DirectoryLayerOptions = {}): Readable {
  const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  const found: Found[] = [];
  walk(dir, '', found);
  const entries = toEntries(found.map((f) => ({ ...f, path: prefix ? `${prefix}/${f.path}` : f.path })));
  if (prefix) entries.unshift({ path: prefix, type: 'directory', mode: 0o755 });
  return writeTar(entries, options);
}

/**
 * The changes that turn `lowerDir` into `upperDir`, as an OCI layer: new and
 * changed entries as members, deletions as `.wh.NAME` whiteouts, and a
 * directory whose lower contents are all gone as an opaque `.wh..wh..opq`
 * marker followed by its new contents. Metadata compared: type, mode, owner,
 * size, mtime, symlink target (and content with `compareContent`).
 */
export function diffDirectories(lowerDir: string, upperDir: string, options: DiffOptions = {}): Readable {
  const changed: Found[] = [];
  const whiteouts: LayerEntry[] = [];
  diffInto(lowerDir, upperDir, '', changed, whiteouts, options);
  const entries = [...toEntries(changed), ...whiteouts];
  return writeTar(entries, options);
}

function diffInto(lowerRoot: string, upperRoot: string, rel: string, changed: Found[], whiteouts: LayerEntry[], options: DiffOptions): void {
  const upperNames = readdirSync(join(upperRoot, rel)).sort();
  const lowerNames = new Set(readdirSync(join(lowerRoot, rel)));
  const upperSet = new Set(upperNames);
  const deleted = [...lowerNames].filter((n) => !upperSet.has(n)).sort();
  const opaque = lowerNames.size > 0 && deleted.length === lowerNames.size;
  const child = (name: string): string => (rel === '' ? name : `${rel}/${name}`);
  if (opaque) {
    whiteouts.push({ path: child('.wh..wh..opq'), type: 'file', mode: 0 });
  } else {
    for (const name of deleted) whiteouts.push({ path: child(`.wh.${name}`), type: 'file', mode: 0 });
  }
  for (const name of upperNames) {
    const path = child(name);
    const upperAbs = join(upperRoot, path);
    const upper = lstatSync(upperAbs);
    const lower = opaque || !lowerNames.has(name) ? undefined : lstatSync(join(lowerRoot, path));
    if (!lower || entryType(lower) !== entryType(upper)) {
      changed.push({ path, abs: upperAbs, st: upper });
      if (upper.isDirectory()) walk(upperRoot, path, changed);
      continue;
    }
    if (differs(lower, upper, join(lowerRoot, path), upperAbs, options)) changed.push({ path, abs: upperAbs, st: upper });
    if (upper.isDirectory()) diffInto(lowerRoot, upperRoot, path, changed, whiteouts, options);
  }
}

function differs(lower: Stats, upper: Stats, lowerAbs: string, upperAbs: string, options: DiffOptions): boolean {
  if (lower.mode !== upper.mode || lower.uid !== upper.uid || lower.gid !== upper.gid) return true;
  if (upper.isDirectory()) return lower.mtimeMs !== upper.mtimeMs;
  if (upper.isSymbolicLink()) return readlinkSync(lowerAbs) !== readlinkSync(upperAbs);
  if (upper.isCharacterDevice() || upper.isBlockDevice()) return lower.rdev !== upper.rdev;
  if (lower.size !== upper.size || lower.mtimeMs !== upper.mtimeMs) return true;
  if (options.compareContent && upper.isFile()) return !readFileSync(lowerAbs).equals(readFileSync(upperAbs));
  return false;
}

function walk(root: string, rel: string, out: Found[]): void {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const abs = join(root, path);
    const st = lstatSync(abs);
    out.push({ path, abs, st });
    if (st.isDirectory()) walk(root, path, out);
  }
}

function entryType(st: Stats): TarEntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char-device';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isFIFO()) return 'fifo';
  return undefined;
}

/** Linux dev_t encoding (glibc's gnu_dev_major/minor). */
function major(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}

function minor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & ~0xff & 0xfffff);
}

function toEntries(found: Found[]): LayerEntry[] {
  const sorted = [...found].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const firstByInode = new Map<string, string>();
  const entries: LayerEntry[] = [];
  for (const { path, abs, st } of sorted) {
    const type = entryType(st);
    if (type === undefined) continue; // sockets cannot be carried in a tar
    const base: LayerEntry = { path, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    if (type === 'file' && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = firstByInode.get(key);
      if (first !== undefined) {
        entries.push({ ...base, type: 'hardlink', linkname: first });
        continue;
      }
      firstByInode.set(key, path);
    }
    if (type === 'file') base.content = { file: abs, size: st.size };
    if (type === 'symlink') base.linkname = readlinkSync(abs);
    if (type === 'char-device' || type === 'block-device') {
      base.devmajor = major(st.rdev);
      base.devminor = minor(st.rdev);
    }
    entries.push(base);
  }
  return entries;
}
