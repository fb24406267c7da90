import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, createReadStream, existsSync, lchownSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { BerthError } from '../../../src/errors/BerthError.js';
import { applyLayer } from '../../../src/layer/applyLayer.js';
import { decompressStream } from '../../../src/layer/compression.js';
import type { ContextMatcher } from '../context/dockerignore.js';
import type { CopyStep } from '../plan.js';
import { digestSources, insideSource, resolveSources, visibleTree, type CopySource, type SourceRoot } from './copySources.js';
import { resolveInStage, resolveStageUser } from './stageUser.js';
import type { StageTree } from './stageTree.js';
import type { LayerEntry } from '../../../src/layer/tarWriter.js';
import { checkDownload, isUrl, type DownloadedSource } from './urlSource.js';
import { isGitUrl, type ResolvedGitSource } from './gitSource.js';

export interface CopyTarget {
  contextDir: string;
  ignore: ContextMatcher;
  scratchRoot: string;
  stages: { tree: StageTree }[];
  /** An image's files for COPY --from=IMAGE: unpacked once into the rootfs cache, read-only. */
  imageRoot: (reference: string) => Promise<string>;
  /** An ADD URL, fetched once per build. */
  download: (url: string) => Promise<DownloadedSource>;
  /** An ADD git source: its ref resolved to a commit, then checked out, each once per build. */
  gitResolve: (source: string) => Promise<ResolvedGitSource>;
  gitCheckout: (resolved: ResolvedGitSource, keepGitDir: boolean) => Promise<string>;
}

/** The sources of a step by kind: git repositories (ADD only), URLs, and paths of the context or a stage. */
function sourcesByKind(step: CopyStep): { gits: string[]; urls: string[]; locals: string[] } {
  const isGit = (s: string) => step.instruction === 'ADD' && isGitUrl(s);
  return { gits: step.sources.filter(isGit), urls: step.sources.filter((s) => !isGit(s) && isUrl(s)), locals: step.sources.filter((s) => !isGit(s) && !isUrl(s)) };
}

/** Run `use` with the root a COPY reads from: the context (with .dockerignore), or a built stage's merged files. */
async function withSourceRoot<T>(step: CopyStep, target: CopyTarget, use: (root: SourceRoot) => Promise<T>): Promise<T> {
  const from = step.from;
  if (from.kind === 'context') return use({ dir: target.contextDir, ignore: target.ignore, name: 'build context' });
  if (from.kind === 'image') return use({ dir: await target.imageRoot(from.reference), name: `image ${from.reference}` });
  const stage = target.stages[from.stage];
  if (!stage) throw new BerthError('INTERNAL', `COPY --from: stage ${from.stage} was not built`);
  return stage.tree.withMergedView(target.scratchRoot, (dir) => use({ dir, name: `stage ${from.stage}` }));
}

/** Everything a COPY reads, as one digest (sources' content and metadata after .dockerignore, heredoc texts). */
export async function digestCopyInputs(step: CopyStep, target: CopyTarget): Promise<string> {
  const heredocs = createHash('sha256').update(JSON.stringify(step.heredocs)).digest('hex');
  const kinds = sourcesByKind(step);
  // A URL's content is what counts (as BuildKit keys an HTTP source), with the name it is saved under.
  const urls = await Promise.all(kinds.urls.map(async (url) => {
    const got = checkDownload(await target.download(url), step.checksum);
    return `${got.name}\0${got.digests.sha256}`;
  }));
  // A repository's commit, not its ref: the ref may move, the commit never changes.
  const gits = await Promise.all(kinds.gits.map(async (source) => {
    const resolved = await target.gitResolve(source);
    return `${resolved.remote}\0${resolved.commit}\0${resolved.subdir}\0${step.keepGitDir === true}`;
  }));
  const locals = kinds.locals;
  const local = locals.length === 0 ? '' : await withSourceRoot(step, target, async (root) => digestSources(root, excluded(step, await resolveSources(root, locals))));
  return `${local}\0${urls.join('\0')}\0${gits.join('\0')}\0${heredocs}`;
}

function excluded(step: CopyStep, sources: CopySource[]): CopySource[] {
  if (step.exclude.length === 0) return sources;
  const patterns = step.exclude.map((p) => new RegExp(`^${p.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*\*/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\u0000/g, '.*')}(/.*)?$`));
  return sources.filter((s) => !patterns.some((p) => p.test(s.rel) || p.test(basename(s.rel))));
}

interface Owner {
  uid: number;
  gid: number;
}

/**
 * Where a COPY's files go: staged in a directory (the step's overlay layer), or straight into layer entries (a build
 * in place, which applies the layer to its root and needs no staged copy). Paths are relative to the image root.
 */
interface CopyWriter {
  has(rel: string): boolean;
  directory(rel: string, meta: EntryMeta): void;
  /** A file, symlink or directory of the source, with its own mode and mtime unless `meta` says otherwise. */
  entry(from: string, rel: string, owner: Owner, chmod: number | undefined): void;
  content(rel: string, bytes: Buffer, owner: Owner, mode: number): void;
  /** ADD of a local archive, unpacked under `relDir`. */
  archive(file: string, relDir: string): Promise<void>;
}

interface EntryMeta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

/** The writer of an overlay build: a directory that becomes the step's layer and its overlay layer. */
class TreeWriter implements CopyWriter {
  constructor(private readonly tree: string) {}

  has(rel: string): boolean {
    return existsSync(join(this.tree, rel));
  }

  directory(rel: string, meta: EntryMeta): void {
    const here = join(this.tree, rel);
    mkdirSync(here);
    lchownSync(here, meta.uid, meta.gid);
    chmodSync(here, meta.mode);
    utimesSync(here, meta.mtime, meta.mtime);
  }

  entry(from: string, rel: string, owner: Owner, chmod: number | undefined): void {
    copyEntry(from, join(this.tree, rel), owner, chmod);
  }

  content(rel: string, bytes: Buffer, owner: Owner, mode: number): void {
    const dest = join(this.tree, rel);
    writeFileSync(dest, bytes, { mode: 0o644 });
    setOwnerMode(dest, owner, mode);
  }

  async archive(file: string, relDir: string): Promise<void> {
    await applyLayer(join(this.tree, relDir), createReadStream(file).pipe(decompressStream()), { chown: true });
  }
}

/** The writer of a build in place: layer entries read from the sources when the layer is written. */
export class EntryWriter implements CopyWriter {
  private readonly entries = new Map<string, LayerEntry>();

  has(rel: string): boolean {
    return this.entries.has(rel);
  }

  directory(rel: string, meta: EntryMeta): void {
    this.entries.set(rel, { path: rel, type: 'directory', ...meta });
  }

  entry(from: string, rel: string, owner: Owner, chmod: number | undefined): void {
    const st = lstatSync(from);
    const base = { path: rel, uid: owner.uid, gid: owner.gid, mtime: st.mtime };
    if (st.isSymbolicLink()) this.entries.set(rel, { ...base, type: 'symlink', mode: 0o777, linkname: readlinkSync(from) });
    else if (st.isDirectory()) this.entries.set(rel, { ...base, type: 'directory', mode: chmod ?? st.mode & 0o7777 });
    else if (st.isFile()) this.entries.set(rel, { ...base, type: 'file', mode: chmod ?? st.mode & 0o7777, content: { file: from, size: st.size } });
    else throw new BerthError('UNSUPPORTED', `COPY: ${from} is neither a file, a directory nor a symlink`);
  }

  content(rel: string, bytes: Buffer, owner: Owner, mode: number): void {
    this.entries.set(rel, { path: rel, type: 'file', mode, uid: owner.uid, gid: owner.gid, mtime: new Date(), content: bytes });
  }

  async archive(): Promise<void> {
    throw new BerthError('INTERNAL', 'an ADD of an archive is staged in a directory');
  }

  layerEntries(): LayerEntry[] {
    return [...this.entries.values()];
  }
}

/** An ADD that unpacks a local archive needs a staged directory (its members are only known by reading it). */
export async function addsArchive(step: CopyStep, target: CopyTarget): Promise<boolean> {
  const { locals } = sourcesByKind(step);
  if (step.instruction !== 'ADD' || locals.length === 0) return false;
  return withSourceRoot(step, target, async (root) => (await resolveSources(root, locals)).some((s) => !s.isDirectory && isArchive(s.abs)));
}

/**
 * Stage a COPY/ADD in `tree` (an empty directory that becomes the step's layer and overlay layer): the sources at
 * their destination, parents that already exist in the stage carried with their own mode and owner, new ones made
 * 0755 and owned as the copied files are (root, or --chown), a destination under a symlink written where it leads.
 */
export async function copyIntoStage(step: CopyStep, stageRoot: string, tree: string, target: CopyTarget): Promise<void> {
  await copyWith(step, stageRoot, new TreeWriter(tree), target);
}

/** The same COPY as layer entries, for a build in place: nothing is staged, the sources are read as the layer is written. */
export async function copyEntries(step: CopyStep, stageRoot: string, target: CopyTarget): Promise<LayerEntry[]> {
  const writer = new EntryWriter();
  await copyWith(step, stageRoot, writer, target);
  return writer.layerEntries();
}

async function copyWith(step: CopyStep, stageRoot: string, writer: CopyWriter, target: CopyTarget): Promise<void> {
  const owner: Owner = step.chown ? resolveStageUser(stageRoot, step.chown) : { uid: 0, gid: 0 };
  const destIsDir = step.dest.endsWith('/');
  await withSourceRoot(step, target, async (root) => {
    const kinds = sourcesByKind(step);
    const sources = kinds.locals.length ? excluded(step, await resolveSources(root, kinds.locals)) : [];
    const urls = await Promise.all(kinds.urls.map(async (url) => checkDownload(await target.download(url), step.checksum)));
    const gits = await Promise.all(kinds.gits.map(async (source) => ({ source, dir: await target.gitCheckout(await target.gitResolve(source), step.keepGitDir === true) })));
    const count = sources.length + urls.length + gits.length + step.heredocs.length;
    if (count > 1 && !destIsDir) {
      throw new BerthError('USAGE', `Dockerfile:${step.line}: when using ${step.instruction} with more than one source file, the destination must be a directory and end with a /`);
    }
    const destExistsAsDir = () => {
      const rel = resolveInStage(stageRoot, step.dest);
      return existsSync(join(stageRoot, rel)) && lstatSync(join(stageRoot, rel)).isDirectory();
    };
    const intoDirectory = destIsDir || count > 1 || destExistsAsDir();
    for (const source of sources) {
      // --parents keeps each source's path below the destination (`COPY --parents a/b/*.txt /out/` writes /out/a/b/).
      if (source.isDirectory) {
        const dest = prepareParents(stageRoot, writer, step.parents ? posix.join(step.dest, source.kept) : step.dest, owner, true);
        for (const rel of await visibleTree(root, source.rel)) {
          const inside = source.rel ? rel.slice(source.rel.length + 1) : rel;
          writer.entry(insideSource(source, rel), dest === '' ? inside : `${dest}/${inside}`, owner, step.chmod);
        }
      } else if (step.instruction === 'ADD' && isArchive(source.abs)) {
        await writer.archive(source.abs, prepareParents(stageRoot, writer, step.dest, owner, true));
      } else {
        const destPath = step.parents ? posix.join(step.dest, source.kept) : intoDirectory ? posix.join(step.dest, basename(source.rel)) : step.dest;
        writer.entry(source.abs, prepareParents(stageRoot, writer, destPath, owner, false), owner, step.chmod);
      }
    }
    for (const git of gits) {
      // A repository's files go into the destination directory, as a directory's contents do.
      const dest = prepareParents(stageRoot, writer, step.dest, owner, true);
      for (const rel of await visibleTree({ dir: git.dir, name: `git ${git.source}` }, '')) {
        writer.entry(join(git.dir, rel), dest === '' ? rel : `${dest}/${rel}`, owner, step.chmod);
      }
    }
    for (const got of urls) {
      // Saved as fetched: mode 0600 and the Last-Modified time, never unpacked (Docker's ADD of a URL).
      const destPath = intoDirectory ? posix.join(step.dest, got.name) : step.dest;
      writer.entry(got.file, prepareParents(stageRoot, writer, destPath, owner, false), owner, step.chmod);
    }
    for (const doc of step.heredocs) {
      const destPath = intoDirectory ? posix.join(step.dest, doc.name) : step.dest;
      writer.content(prepareParents(stageRoot, writer, destPath, owner, false), Buffer.from(doc.content), owner, step.chmod ?? 0o644);
    }
  });
}

/** Magic numbers of what ADD unpacks: gzip, bzip2, xz, zstd, or a plain tar ("ustar" at 257). */
function isArchive(file: string): boolean {
  const head = Buffer.alloc(262);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const h = head.subarray(0, n);
  return (h[0] === 0x1f && h[1] === 0x8b) || h.subarray(0, 3).toString('latin1') === 'BZh' || h.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))
    || h.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])) || h.subarray(257, 262).toString('latin1') === 'ustar';
}

/**
 * Make `path`'s parent directories (and `path` itself when it is a directory) in the writer, following the stage's
 * symlinks; returns the image path (relative, no leading "/") where the entry goes.
 */
function prepareParents(stageRoot: string, writer: CopyWriter, path: string, owner: Owner, isDirectory: boolean): string {
  const rel = resolveInStage(stageRoot, path);
  const parts = rel.split('/').filter((p) => p !== '');
  const dirs = isDirectory ? parts : parts.slice(0, -1);
  let made = '';
  for (const part of dirs) {
    made = made ? `${made}/${part}` : part;
    if (writer.has(made)) continue;
    const below = join(stageRoot, made);
    if (existsSync(below)) {
      const st = lstatSync(below);
      writer.directory(made, { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime });
    } else writer.directory(made, { mode: 0o755, uid: owner.uid, gid: owner.gid, mtime: new Date() });
  }
  return parts.join('/');
}

function setOwnerMode(path: string, owner: Owner, mode: number | undefined): void {
  lchownSync(path, owner.uid, owner.gid);
  if (mode !== undefined && !lstatSync(path).isSymbolicLink()) chmodSync(path, mode);
}

const SMALL_FILE = 256 * 1024;

/** One file, link or directory (not its contents) with its mode and mtime; owner as COPY gives it. */
function copyEntry(from: string, to: string, owner: Owner, chmod: number | undefined): void {
  const st = lstatSync(from);
  if (st.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
  else if (st.isDirectory()) {
    if (!existsSync(to)) mkdirSync(to);
  } else if (st.isFile()) {
    // copy_file_range costs ~1 ms a file on overlay-backed hosts: small files (most of a source tree) go by read/write.
    if (st.size <= SMALL_FILE) writeFileSync(to, readFileSync(from));
    else copyFileSync(from, to);
  }
  else throw new BerthError('UNSUPPORTED', `COPY: ${from} is neither a file, a directory nor a symlink`);
  setOwnerMode(to, owner, chmod ?? st.mode & 0o7777);
  if (!st.isSymbolicLink()) utimesSync(to, st.atime, st.mtime);
}

/** Copy a path of a stage's merged view out into a directory of its own (a bind mount's source). */
export async function copyFromRoot(root: string, path: string, target: string): Promise<void> {
  const { cpSync } = await import('node:fs');
  cpSync(join(root, path), target, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
}
