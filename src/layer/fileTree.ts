import { spawn } from 'node:child_process';
import { lstat, readdir, readlink } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { createInterface } from 'node:readline';
import { BerthError } from '../errors/BerthError.js';
import type { TarEntryType } from './tarReader.js';
import type { LayerEntry } from './tarWriter.js';
import { which } from './which.js';

/**
 * One thing found under a tree root. `rel` is its path below the root as a
 * byte string (latin1: one char per byte, "/"-separated), so that names that
 * are not UTF-8 survive; `abs` is the path to hand to fs calls.
 */
export interface TreeEntry {
  rel: string;
  abs: Buffer;
  st: BigIntStats;
  /** Symlink target (byte string). */
  target?: string;
  /** Every extended attribute the entry has, overlay's own included; empty when xattrs were not read. */
  xattrs: Map<string, Buffer>;
}

export interface WalkOptions {
  /** Leave an entry out, and with a directory everything under it. Gets `rel` and the lstat result. */
  skip?: (rel: string, st: BigIntStats) => boolean;
  /** Read extended attributes (one getfattr process for the whole tree). */
  xattrs?: boolean;
}

/** lstat calls in flight at once: enough to keep libuv's pool busy, few enough to bound memory in huge directories. */
const LSTAT_BATCH = 64;

/**
 * Every entry under `root` (not the root itself), parents before children,
 * with lstat metadata. All I/O goes through fs/promises, so walking a large
 * rootfs leaves the event loop free.
 */
export async function walkTree(root: string, options: WalkOptions = {}): Promise<TreeEntry[]> {
  const xattrs = options.xattrs ? readTreeXattrs(root) : undefined;
  // Read while the walk runs; awaited below, but a walk that fails first must not leave it unhandled.
  xattrs?.catch(() => undefined);
  const out: TreeEntry[] = [];
  const rootBytes = Buffer.from(root);
  const pending: string[] = [''];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    const dirAbs = dir === '' ? rootBytes : Buffer.concat([rootBytes, Buffer.from(`/${dir}`, 'latin1')]);
    const names = (await readdir(dirAbs, { encoding: 'buffer' })).map((name) => name.toString('latin1')).sort();
    const batch = await inBatches(names, LSTAT_BATCH, async (name): Promise<TreeEntry | undefined> => {
      const rel = dir === '' ? name : `${dir}/${name}`;
      const abs = Buffer.concat([rootBytes, Buffer.from(`/${rel}`, 'latin1')]);
      const st = await lstat(abs, { bigint: true });
      if (options.skip?.(rel, st)) return undefined;
      const target = st.isSymbolicLink() ? (await readlink(abs, { encoding: 'buffer' })).toString('latin1') : undefined;
      return { rel, abs, st, xattrs: new Map(), ...(target !== undefined ? { target } : {}) };
    });
    for (const entry of batch) {
      if (!entry) continue;
      out.push(entry);
      if (entry.st.isDirectory()) pending.push(entry.rel);
    }
  }
  if (xattrs) {
    const byRel = await xattrs;
    for (const entry of out) entry.xattrs = byRel.get(entry.rel) ?? entry.xattrs;
  }
  return out.sort((a, b) => compareRel(a.rel, b.rel));
}

/**
 * `work` over `items`, `size` at a time (each group settles before the next
 * starts), results in the order of `items`.
 */
export async function inBatches<T, R>(items: readonly T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) results.push(...(await Promise.all(items.slice(start, start + size).map(work))));
  return results;
}

/** Byte order of two byte strings (latin1 code units compare as their bytes). */
export function compareRel(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A byte-string path as text for callbacks and messages (invalid UTF-8 shows as U+FFFD). */
export function textPath(rel: string): string {
  return Buffer.from(rel, 'latin1').toString('utf8');
}

/**
 * Extended attributes of every entry under `root`, from one `getfattr -R`
 * run (Node has no xattr API, and one process per file would dominate the
 * time of a layer with thousands of files). getfattr escapes "\", newlines
 * and "=" in names as \ooo, so its output parses back into exact bytes.
 * Keys are `rel` byte strings ('' for the root).
 */
function readTreeXattrs(root: string): Promise<Map<string, Map<string, Buffer>>> {
  // -R -P: recurse, never following a symlink.
  return getfattr(root, ['-R', '-P', '.']);
}

/** Extended attributes of the entries `rels` (byte strings) under `root`, those that have any; getfattr as above. */
export async function readXattrsOf(root: string, rels: string[]): Promise<Map<string, Map<string, Buffer>>> {
  const out = new Map<string, Map<string, Buffer>>();
  // Several hundred paths per run keep each command line far below the kernel's limit.
  for (let i = 0; i < rels.length; i += 500) {
    const paths = rels.slice(i, i + 500).map((rel) => `./${Buffer.from(rel, 'latin1').toString('utf8')}`);
    for (const [rel, attrs] of await getfattr(root, ['--', ...paths])) out.set(rel, attrs);
  }
  return out;
}

async function getfattr(root: string, args: string[]): Promise<Map<string, Map<string, Buffer>>> {
  const getfattr = which('getfattr');
  if (!getfattr) throw new BerthError('UNSUPPORTED', 'extended attributes cannot be read: getfattr (Debian package attr) is not installed');
  // -h: report a symlink's own attributes; -d -m '': every attribute of every namespace, values in hex.
  const child = spawn(getfattr, ['-h', '-d', '-m', '', '-e', 'hex', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  child.stdout.setEncoding('latin1');
  const out = new Map<string, Map<string, Buffer>>();
  let current: Map<string, Buffer> | undefined;
  for await (const line of createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.startsWith('# file: ')) {
      const path = unescapeGetfattr(line.slice('# file: '.length));
      current = new Map();
      out.set(path === '.' ? '' : path.startsWith('./') ? path.slice(2) : path, current);
      continue;
    }
    if (line === '') continue;
    const eq = line.lastIndexOf('=');
    if (!current || eq <= 0 || !/^(0x[0-9a-f]*)?$/.test(line.slice(eq + 1))) {
      throw new BerthError('IO_ERROR', `unexpected getfattr output under ${root}: ${JSON.stringify(line.slice(0, 80))}`);
    }
    current.set(unescapeGetfattr(line.slice(0, eq)), Buffer.from(line.slice(eq + 3), 'hex'));
  }
  const status = await exited;
  if (status !== 0) {
    const why = Buffer.concat(stderr).toString('utf8').trim().split('\n')[0] ?? '';
    throw new BerthError('IO_ERROR', `cannot read extended attributes under ${root}: ${why || `getfattr exited with ${status}`}`);
  }
  return out;
}

function unescapeGetfattr(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8) & 0xff));
}

/**
 * The attributes a layer carries: user.*, trusted.* and security.capability
 * (what the applier restores). Never overlay's own (trusted.overlay.*, or
 * user.overlay.* on userxattr mounts): in an image they would be obeyed by
 * the next overlay mount that uses the layer as a lower directory. Never
 * other security.* labels, which describe the host (SELinux) rather than the image.
 */
export function isCarriedXattr(name: string): boolean {
  if (name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.')) return false;
  return name.startsWith('user.') || name.startsWith('trusted.') || name === 'security.capability';
}

export function carriedXattrs(all: Map<string, Buffer>): Map<string, Buffer> {
  return new Map([...all].filter(([name]) => isCarriedXattr(name)));
}

export function entryType(st: BigIntStats): TarEntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char-device';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isFIFO()) return 'fifo';
  return undefined;
}

/** Linux dev_t encoding (glibc's gnu_dev_major/minor). */
function major(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}

function minor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn & 0xfffffn));
}

/** Mode and owner of an entry as written; a builder may change them (COPY --chown/--chmod, fixed owners). */
export interface EntryMetadata {
  mode: number;
  uid: number;
  gid: number;
}

export interface EntryOptions {
  /** The layer path of an entry (e.g. with a COPY destination in front); byte string in, byte string out. */
  layerPath?: (rel: string) => string;
  metadata?: (layerPath: string, type: TarEntryType, onDisk: EntryMetadata) => EntryMetadata;
}

/**
 * Layer entries for tree entries. Regular files that share an inode become
 * one file and hardlink members pointing at the first of them in byte order,
 * the order the writer sorts in, so every link follows its target. Sockets
 * are left out: a tar cannot carry them.
 */
export function layerEntries(found: readonly TreeEntry[], options: EntryOptions = {}): LayerEntry[] {
  const named = found.map((entry) => ({ entry, path: options.layerPath ? options.layerPath(entry.rel) : entry.rel }));
  named.sort((a, b) => compareRel(a.path, b.path));
  const firstByInode = new Map<string, string>();
  const entries: LayerEntry[] = [];
  for (const { entry, path } of named) {
    const { st } = entry;
    const type = entryType(st);
    if (type === undefined) continue;
    const onDisk = { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
    const { mode, uid, gid } = options.metadata ? options.metadata(textPath(path), type, onDisk) : onDisk;
    const base: LayerEntry = { path: Buffer.from(path, 'latin1'), type, mode, uid, gid, mtime: new Date(Number(st.mtimeMs)) };
    if (type === 'file' && st.nlink > 1n) {
      const inode = `${st.dev}:${st.ino}`;
      const first = firstByInode.get(inode);
      if (first !== undefined) {
        entries.push({ ...base, type: 'hardlink', linkname: Buffer.from(first, 'latin1') });
        continue;
      }
      firstByInode.set(inode, path);
    }
    const xattrs = carriedXattrs(entry.xattrs);
    if (xattrs.size > 0) base.xattrs = Object.fromEntries(xattrs);
    if (type === 'file') base.content = { file: entry.abs, size: Number(st.size) };
    if (type === 'symlink') base.linkname = Buffer.from(entry.target!, 'latin1');
    if (type === 'char-device' || type === 'block-device') {
      base.devmajor = major(st.rdev);
      base.devminor = minor(st.rdev);
    }
    entries.push(base);
  }
  return entries;
}
