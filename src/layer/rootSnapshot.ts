import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import type { Readable } from 'node:stream';
import { compareRel, layerEntries, readXattrsOf, type TreeEntry } from './fileTree.js';
import { writeTar, type LayerEntry, type TarWriterOptions } from './tarWriter.js';
import { whiteoutMember } from './whiteout.js';

/** What identifies an entry's state: the kernel moves ctime on every change of content, mode, owner, links or xattrs. */
function signature(st: BigIntStats, target: string | undefined): string {
  return `${st.ino}:${st.ctimeNs}:${st.mtimeNs}:${st.mode}:${st.uid}:${st.gid}:${st.size}:${st.nlink}:${target ?? ''}`;
}

export interface SnapshotOptions {
  /** Leave a path out of the walk (and everything under a directory): kept paths, mount targets of a step. */
  skip?: (rel: string) => boolean;
}

/**
 * Every entry under `root` with lstat metadata, parents before children. Synchronous: a snapshot is taken while
 * nothing else runs, and thousands of small lstat promises cost several times the calls themselves.
 */
function walkSync(root: string, skip: (rel: string) => boolean): TreeEntry[] {
  const out: TreeEntry[] = [];
  const rootBytes = Buffer.from(root);
  const visit = (dir: string): void => {
    const dirAbs = dir === '' ? rootBytes : Buffer.concat([rootBytes, Buffer.from(`/${dir}`, 'latin1')]);
    for (const nameBytes of readdirSync(dirAbs, { encoding: 'buffer' })) {
      const name = nameBytes.toString('latin1');
      const rel = dir === '' ? name : `${dir}/${name}`;
      if (skip(rel)) continue;
      const abs = Buffer.concat([rootBytes, Buffer.from(`/${rel}`, 'latin1')]);
      const st = lstatSync(abs, { bigint: true });
      const target = st.isSymbolicLink() ? readlinkSync(abs, { encoding: 'buffer' }).toString('latin1') : undefined;
      out.push({ rel, abs, st, xattrs: new Map(), ...(target !== undefined ? { target } : {}) });
      if (st.isDirectory()) visit(rel);
    }
  };
  visit('');
  return out.sort((a, b) => compareRel(a.rel, b.rel));
}

/**
 * A metadata snapshot of a tree (a builder's root worked in place, where no overlay upper records the changes).
 * Comparing two never misses a change: content, mode, owner, extended attributes, link count and renames all move
 * the inode's ctime or number, which a process cannot set back, so no file content is read or hashed.
 */
export class TreeSnapshot {
  private constructor(
    readonly root: string,
    private readonly entries: Map<string, string>,
    private readonly options: SnapshotOptions,
  ) {}

  static async take(root: string, options: SnapshotOptions = {}): Promise<TreeSnapshot> {
    const found = walkSync(root, options.skip ?? (() => false));
    return new TreeSnapshot(root, new Map(found.map((e) => [e.rel, signature(e.st, e.target)])), options);
  }

  /**
   * A layer of what changed under the root since this snapshot: new and changed entries with the directories that
   * lead to them, and a whiteout for each deleted path whose parent still exists. `skip` adds paths to leave out
   * (what a step mounted and removed again). With `xattrs`, the entries carry their extended attributes (read with
   * getfattr for the chosen entries only).
   */
  async changes(options: TarWriterOptions & SnapshotOptions & { xattrs?: boolean } = {}): Promise<{ tar: Readable; changed: number }> {
    const skip = (rel: string) => (this.options.skip?.(rel) ?? false) || (options.skip?.(rel) ?? false);
    const now = walkSync(this.root, skip);
    const present = new Set<string>();
    const chosen = new Map<string, TreeEntry>();
    const byRel = new Map(now.map((e) => [e.rel, e]));
    for (const entry of now) {
      present.add(entry.rel);
      if (this.entries.get(entry.rel) === signature(entry.st, entry.target)) continue;
      chosen.set(entry.rel, entry);
      for (let slash = entry.rel.lastIndexOf('/'); slash > 0; slash = entry.rel.lastIndexOf('/', slash - 1)) {
        const parent = entry.rel.slice(0, slash);
        if (chosen.has(parent)) break;
        chosen.set(parent, byRel.get(parent)!);
      }
    }
    const whiteouts: LayerEntry[] = [];
    for (const rel of this.entries.keys()) {
      if (present.has(rel)) continue;
      const slash = rel.lastIndexOf('/');
      if (slash > 0 && !present.has(rel.slice(0, slash))) continue;
      whiteouts.push(whiteoutMember(rel));
      // A whiteout is written under its parent, which must be in the layer with its own mode and owner.
      for (let up = slash; up > 0; up = rel.lastIndexOf('/', up - 1)) {
        const parent = rel.slice(0, up);
        if (chosen.has(parent)) break;
        chosen.set(parent, byRel.get(parent)!);
      }
    }
    if (options.xattrs) {
      const attrs = await readXattrsOf(this.root, [...chosen.keys()]);
      for (const [rel, entry] of chosen) entry.xattrs = attrs.get(rel) ?? entry.xattrs;
    }
    const entries = [...layerEntries([...chosen.values()]), ...whiteouts];
    return { tar: writeTar(entries, options), changed: chosen.size + whiteouts.length };
  }
}
