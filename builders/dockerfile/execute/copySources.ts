import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { BerthError } from '../../../src/errors/BerthError.js';
import type { ContextMatcher } from '../context/dockerignore.js';
import { RootResolver } from '../../../src/layer/rootResolver.js';

/** A COPY/ADD source after globbing: its path under the root it came from (context or a stage's filesystem). */
export interface CopySource {
  rel: string;
  abs: string;
  isDirectory: boolean;
  /** The part of `rel` that `COPY --parents` keeps under the destination: after a `/./` pivot in the pattern, if any. */
  kept: string;
}

/** Where sources are read from, and what of it the build may see (.dockerignore; nothing is ignored in a stage). */
export interface SourceRoot {
  dir: string;
  ignore?: ContextMatcher;
  /** For messages: "build context" or "stage builder". */
  name: string;
}

const wildcard = /[*?[]/;

/** One path segment of a Go filepath.Match pattern as a RegExp (`*` and `?` never cross "/"; `[^…]` negates). */
function segmentPattern(segment: string): RegExp {
  let re = '^';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < segment.length) re += `\\${segment[++i]}`;
    else if (c === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) throw new BerthError('USAGE', `bad glob pattern "${segment}"`);
      let body = segment.slice(i + 1, end);
      if (body.startsWith('^') || body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += c.replace(/[.+(){}|$^\]]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's');
}

/** A source pattern made relative to its root, refusing one that climbs out of it. */
function cleanSource(pattern: string, root: SourceRoot): string {
  const cleaned = posix.normalize(`/${pattern}`).slice(1).replace(/\/$/, '');
  if (pattern.split('/').includes('..') && posix.normalize(pattern).startsWith('..')) {
    throw new BerthError('UNSAFE_PATH', `COPY source "${pattern}" is outside the ${root.name}`);
  }
  return cleaned;
}

const visible = (root: SourceRoot, rel: string) => rel === '' || !root.ignore?.ignores(rel);

const resolvers = new WeakMap<SourceRoot, RootResolver>();

/**
 * Where `rel` is on disk, its directories' symlinks followed inside the root (a link in the context to /etc leads
 * to the context's own etc/, never the host's); the last component as it is (a symlink is copied as one).
 * Undefined when a directory on the way is missing.
 */
export function sourcePath(root: SourceRoot, rel: string): string | undefined {
  let resolver = resolvers.get(root);
  if (!resolver) resolvers.set(root, (resolver = new RootResolver(root.dir)));
  const parts = rel.split('/').filter((p) => p !== '').map((p) => Buffer.from(p, 'utf8').toString('latin1'));
  if (parts.length === 0) return root.dir;
  let parent: string | undefined;
  try {
    parent = resolver.resolveDirectory(parts.slice(0, -1), false);
  } catch {
    return undefined;
  }
  if (parent === undefined) return undefined;
  return Buffer.from(resolver.abs(parent === '' ? parts.at(-1)! : `${parent}/${parts.at(-1)!}`), 'latin1').toString('utf8');
}

/** Expand each pattern against the root (Docker's rules: a pattern must match something, ignored files do not exist). */
export async function resolveSources(root: SourceRoot, patterns: string[]): Promise<CopySource[]> {
  const found: CopySource[] = [];
  for (const pattern of patterns) {
    const rel = cleanSource(pattern, root);
    // BuildKit's pivot: in `a/./b/c`, --parents keeps only what follows the `/./` (b/c), not the whole path.
    const pivot = pattern.replace(/^(\.\/)+/, '').indexOf('/./');
    const dropped = pivot < 0 ? '' : cleanSource(pattern.replace(/^(\.\/)+/, '').slice(0, pivot), root);
    const matches = wildcard.test(rel) ? await globPaths(root, rel) : (await exists(root, rel)) ? [rel] : [];
    if (matches.length === 0) throw new BerthError('NOT_FOUND', `COPY failed: no source files were specified or found for "${pattern}" in the ${root.name}`);
    for (const m of matches) {
      const abs = sourcePath(root, m)!;
      found.push({ rel: m, abs, isDirectory: (await lstat(abs)).isDirectory(), kept: dropped === '' ? m : m.slice(dropped.length + 1) });
    }
  }
  return found;
}

async function exists(root: SourceRoot, rel: string): Promise<boolean> {
  if (!visible(root, rel)) return false;
  const abs = sourcePath(root, rel);
  return abs !== undefined && lstat(abs).then(() => true, () => false);
}

async function globPaths(root: SourceRoot, rel: string): Promise<string[]> {
  let current = [''];
  for (const segment of rel.split('/')) {
    const next: string[] = [];
    for (const base of current) {
      if (!wildcard.test(segment)) {
        const path = base ? `${base}/${segment}` : segment;
        if (await exists(root, path)) next.push(path);
        continue;
      }
      const re = segmentPattern(segment);
      const dir = sourcePath(root, base);
      const names = dir === undefined ? [] : await readdir(dir).catch(() => [] as string[]);
      for (const name of names.sort()) {
        const path = base ? `${base}/${name}` : name;
        if (re.test(name) && visible(root, path)) next.push(path);
      }
    }
    current = next;
  }
  return current;
}

/**
 * Every path under a source directory that the build may see, parents before children, sorted; read below the
 * directory as resolved inside the root, walking into real directories only.
 */
export async function visibleTree(root: SourceRoot, relDir: string): Promise<string[]> {
  const out: string[] = [];
  const base = sourcePath(root, relDir) ?? join(root.dir, relDir);
  const onDisk = (rel: string) => (rel === relDir ? base : join(base, relDir === '' ? rel : rel.slice(relDir.length + 1)));
  // Synchronous calls: a context of thousands of small entries costs a promise round trip each otherwise.
  const walk = (rel: string): void => {
    for (const name of readdirSync(onDisk(rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(onDisk(path));
      const ignored = !visible(root, path);
      if (ignored && !(st.isDirectory() && root.ignore?.mayReinclude(path))) continue;
      const at = out.length;
      if (!ignored) out.push(path);
      if (st.isDirectory()) walk(path);
      // An ignored directory holding a re-included file comes along, as the file's parent.
      if (ignored && out.length > at) out.splice(at, 0, path);
    }
  };
  walk(relDir);
  return out;
}

/** Files up to this size are hashed from one synchronous read; bigger ones stream. */
const SMALL_FILE = 256 * 1024;

/**
 * What a COPY reads, as one digest: each visible path with its type, mode, owner, size, link target and content.
 * The step cache keys on it, so a changed mode or owner misses as a changed byte does, and an ignored file is not read.
 */
export async function digestSources(root: SourceRoot, sources: CopySource[]): Promise<string> {
  const hash = createHash('sha256');
  const add = async (rel: string, abs: string) => {
    const st = lstatSync(abs);
    hash.update(`${rel}\0${st.mode}\0${st.uid}\0${st.gid}\0${st.size}\0`);
    if (st.isSymbolicLink()) hash.update(readlinkSync(abs));
    else if (st.isFile() && st.size <= SMALL_FILE) hash.update(createHash('sha256').update(readFileSync(abs)).digest());
    else if (st.isFile()) {
      const content = createHash('sha256');
      for await (const chunk of createReadStream(abs)) content.update(chunk as Buffer);
      hash.update(content.digest());
    }
    hash.update('\n');
  };
  for (const source of sources) {
    await add(source.rel, source.abs);
    if (source.isDirectory) for (const rel of await visibleTree(root, source.rel)) await add(rel, insideSource(source, rel));
  }
  return hash.digest('hex');
}

/** Where a path found under a source directory is on disk: below the source as it was resolved. */
export function insideSource(source: CopySource, rel: string): string {
  return source.rel === '' ? join(source.abs, rel) : join(source.abs, rel.slice(source.rel.length + 1));
}
