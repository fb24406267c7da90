import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BerthError } from '../errors/BerthError.js';
import {
  carriedXattrs,
  compareRel,
  entryType,
  inBatches,
  layerEntries,
  textPath,
  walkTree,
  type EntryMetadata,
  type TreeEntry,
} from './fileTree.js';
import { cleanMemberPath } from './tarPath.js';
import type { TarEntryType } from './tarReader.js';
import { writeTar, type LayerEntry, type TarWriterOptions } from './tarWriter.js';
import { opaqueMember, whiteoutMember } from './whiteout.js';

export type { EntryMetadata } from './fileTree.js';

export interface DirectoryLayerOptions extends TarWriterOptions {
  /** Place the tree under this path in the layer (e.g. a COPY destination). */
  prefix?: string;
  /**
   * Keep only entries this accepts (and the directories that lead to them,
   * so their modes and owners are carried). Gets the layer path, prefix
   * included, without a leading "/".
   */
  include?: (layerPath: string, type: TarEntryType) => boolean;
  /** Leave out entries this accepts; a directory goes with everything under it. Same paths as `include`. */
  exclude?: (layerPath: string, type: TarEntryType) => boolean;
  /** Mode and owner to write for an entry, given those on disk (COPY --chown/--chmod, a staged tree's fixed owners). */
  metadata?: (layerPath: string, type: TarEntryType, onDisk: EntryMetadata) => EntryMetadata;
  /** Carry extended attributes (user.*, trusted.*, security.capability); needs getfattr. */
  xattrs?: boolean;
}

export interface DiffOptions extends TarWriterOptions {
  /** Paths to ignore in both trees (layer paths without a leading "/"); a directory goes with everything under it. */
  exclude?: (layerPath: string) => boolean;
}

/** Same-size files compared at once; each holds two buffers of at most COMPARE_CHUNK. */
const CONTENT_COMPARES = 16;
const COMPARE_CHUNK = 256 * 1024;

/**
 * A layer holding the tree under `dir` (the directory itself is not an
 * entry). Hardlinked files become hardlink members pointing at the first
 * path in sorted order, so the layer applies in the order it is written.
 * With `mtime` (or `clampMtime`), `uid`/`gid` or `metadata`, the same staged
 * tree gives the same bytes wherever and whenever it was staged.
 */
export function createLayerFromDirectory(dir: string, options: DirectoryLayerOptions = {}): Readable {
  return writeTar(directoryEntries(dir, options), options);
}

async function directoryEntries(dir: string, options: DirectoryLayerOptions): Promise<LayerEntry[]> {
  const prefixText = cleanMemberPath(options.prefix ?? '', 'layer prefix').join('/');
  const prefix = Buffer.from(prefixText, 'utf8').toString('latin1');
  const layerPath = (rel: string): string => (prefix === '' ? rel : `${prefix}/${rel}`);
  const { include, exclude, metadata } = options;
  const accepts = (test: (layerPath: string, type: TarEntryType) => boolean, rel: string, st: TreeEntry['st']): boolean => {
    const type = entryType(st);
    return type !== undefined && test(textPath(layerPath(rel)), type);
  };
  let found = await walkTree(dir, { xattrs: options.xattrs ?? false, ...(exclude ? { skip: (rel, st) => accepts(exclude, rel, st) } : {}) });
  if (include) found = withParents(found, found.filter((entry) => accepts(include, entry.rel, entry.st)));
  const entries = layerEntries(found, { layerPath, ...(metadata ? { metadata } : {}) });
  if (prefix !== '') {
    const onDisk = { mode: 0o755, uid: 0, gid: 0 };
    entries.unshift({ path: Buffer.from(prefix, 'latin1'), type: 'directory', ...(metadata ? metadata(prefixText, 'directory', onDisk) : onDisk) });
  }
  return entries;
}

/** The kept entries and every directory that leads to one of them, in the order of `all`. */
function withParents(all: readonly TreeEntry[], kept: readonly TreeEntry[]): TreeEntry[] {
  const wanted = new Set(kept.map((entry) => entry.rel));
  for (const entry of kept) {
    for (let dir = parentOf(entry.rel); dir !== '' && !wanted.has(dir); dir = parentOf(dir)) wanted.add(dir);
  }
  return all.filter((entry) => wanted.has(entry.rel));
}

/**
 * The changes that turn `lowerDir` into `upperDir`, as an OCI layer: new and
 * changed entries as members, deletions as `.wh.NAME` whiteouts, and a
 * directory whose lower contents are all gone as an opaque marker followed
 * by its new contents. Nothing is missed: type, mode, owner, carried xattrs
 * (security.capability included), symlink target, device number, hardlink
 * structure and mtime are compared, and a regular file whose size and mtime
 * agree is compared by content, streamed (never read whole), a few at a time.
 */
export function diffDirectories(lowerDir: string, upperDir: string, options: DiffOptions = {}): Readable {
  return writeTar(diffEntries(lowerDir, upperDir, options), options);
}

async function diffEntries(lowerDir: string, upperDir: string, options: DiffOptions): Promise<LayerEntry[]> {
  const exclude = options.exclude;
  const walk = { xattrs: true, ...(exclude ? { skip: (rel: string) => exclude(textPath(rel)) } : {}) };
  const [lower, upper] = await Promise.all([walkTree(lowerDir, walk), walkTree(upperDir, walk)]);
  const lowerByRel = new Map(lower.map((entry) => [entry.rel, entry]));
  const upperByRel = new Map(upper.map((entry) => [entry.rel, entry]));
  const lowerLinks = linkGroups(lower);
  const upperLinks = linkGroups(upper);
  /** Upper directories with no lower directory of that name: everything under them is new. */
  const fresh = new Set<string>();
  const changed = new Set<string>();
  const sameMetadata: [TreeEntry, TreeEntry][] = [];
  for (const entry of upper) {
    const before = fresh.has(parentOf(entry.rel)) ? undefined : lowerByRel.get(entry.rel);
    if (!before || entryType(before.st) !== entryType(entry.st)) {
      changed.add(entry.rel);
      if (entry.st.isDirectory()) fresh.add(entry.rel);
      continue;
    }
    const verdict = compareMetadata(before, entry, lowerLinks, upperLinks);
    if (verdict === 'changed') changed.add(entry.rel);
    if (verdict === 'same-metadata') sameMetadata.push([before, entry]);
  }
  await inBatches(sameMetadata, CONTENT_COMPARES, async ([before, entry]) => {
    if (!(await sameContent(before, entry))) changed.add(entry.rel);
  });
  // A hardlink member needs its target in the same layer: a changed file brings every name it has.
  for (const rel of [...changed]) for (const partner of upperLinks.get(rel) ?? []) changed.add(partner);
  const { markers, holders } = deletions(lower, upperByRel, fresh);
  // Applying a change touches its parents' mtimes; carrying the parents (as containerd does) puts them back.
  for (const rel of [...changed, ...holders]) {
    for (let dir = rel; dir !== ''; dir = parentOf(dir)) changed.add(dir);
  }
  return [...layerEntries(upper.filter((entry) => changed.has(entry.rel))), ...markers];
}

/**
 * Whiteouts for lower entries gone from the upper tree, only where their
 * parent directory survives (a deleted or replaced parent already hides
 * them); a directory that lost every lower entry gets one opaque marker.
 * `holders` are the directories the markers sit in.
 */
function deletions(lower: readonly TreeEntry[], upperByRel: Map<string, TreeEntry>, fresh: Set<string>): { markers: LayerEntry[]; holders: string[] } {
  const survives = (dir: string): boolean => dir === '' || (upperByRel.get(dir)?.st.isDirectory() === true && !fresh.has(dir));
  const lowerChildren = new Map<string, number>();
  const gone = new Map<string, string[]>();
  for (const entry of lower) {
    const parent = parentOf(entry.rel);
    lowerChildren.set(parent, (lowerChildren.get(parent) ?? 0) + 1);
    if (upperByRel.has(entry.rel) || !survives(parent)) continue;
    gone.set(parent, [...(gone.get(parent) ?? []), entry.rel]);
  }
  const markers: LayerEntry[] = [];
  for (const [dir, rels] of gone) {
    if (rels.length === lowerChildren.get(dir)) markers.push(opaqueMember(dir));
    else markers.push(...rels.map(whiteoutMember));
  }
  return { markers, holders: [...gone.keys()] };
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

/** For each regular file with more than one name in the tree: every name it has there, sorted. */
function linkGroups(tree: readonly TreeEntry[]): Map<string, string[]> {
  const byInode = new Map<string, string[]>();
  for (const entry of tree) {
    if (!entry.st.isFile() || entry.st.nlink < 2n) continue;
    const inode = `${entry.st.dev}:${entry.st.ino}`;
    byInode.set(inode, [...(byInode.get(inode) ?? []), entry.rel]);
  }
  const groups = new Map<string, string[]>();
  for (const names of byInode.values()) {
    if (names.length < 2) continue;
    names.sort(compareRel);
    for (const name of names) groups.set(name, names);
  }
  return groups;
}

/**
 * 'changed' when metadata alone shows a change; 'same-metadata' for two
 * regular files that only their bytes can tell apart; 'same' otherwise.
 */
function compareMetadata(
  before: TreeEntry,
  after: TreeEntry,
  lowerLinks: Map<string, string[]>,
  upperLinks: Map<string, string[]>,
): 'changed' | 'same-metadata' | 'same' {
  const a = before.st;
  const b = after.st;
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.mtimeNs !== b.mtimeNs) return 'changed';
  if (!sameXattrs(carriedXattrs(before.xattrs), carriedXattrs(after.xattrs))) return 'changed';
  if (b.isSymbolicLink()) return before.target === after.target ? 'same' : 'changed';
  if (b.isCharacterDevice() || b.isBlockDevice()) return a.rdev === b.rdev ? 'same' : 'changed';
  if (!b.isFile()) return 'same';
  if (a.size !== b.size) return 'changed';
  if ((lowerLinks.get(before.rel) ?? [before.rel]).join('\0') !== (upperLinks.get(after.rel) ?? [after.rel]).join('\0')) return 'changed';
  if (a.dev === b.dev && a.ino === b.ino) return 'same';
  return a.size === 0n ? 'same' : 'same-metadata';
}

function sameXattrs(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, value] of a) if (!b.get(name)?.equals(value)) return false;
  return true;
}

/** Compare two files of equal size chunk by chunk, stopping at the first difference. */
async function sameContent(before: TreeEntry, after: TreeEntry): Promise<boolean> {
  const [a, b] = await Promise.all([open(before.abs, 'r'), open(after.abs, 'r')]);
  try {
    const size = Number(after.st.size);
    const bufA = Buffer.allocUnsafe(Math.min(COMPARE_CHUNK, size));
    const bufB = Buffer.allocUnsafe(bufA.length);
    for (let position = 0; position < size; ) {
      const want = Math.min(bufA.length, size - position);
      const [ra, rb] = await Promise.all([a.read(bufA, 0, want, position), b.read(bufB, 0, want, position)]);
      // A file that shrank under us is a change, whichever side it was.
      if (ra.bytesRead !== rb.bytesRead || ra.bytesRead === 0) return false;
      if (!bufA.subarray(0, ra.bytesRead).equals(bufB.subarray(0, rb.bytesRead))) return false;
      position += ra.bytesRead;
    }
    return true;
  } catch (err) {
    throw new BerthError('IO_ERROR', `cannot compare ${textPath(after.rel)}: ${(err as Error).message}`, { cause: err });
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}
