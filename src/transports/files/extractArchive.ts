import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { BerthError } from '../../errors/BerthError.js';

export interface ExtractedFile {
  /** Where its bytes were written (a flat, berth-chosen name: archive names never become paths). */
  path: string;
  size: number;
}

const MAX_ENTRIES = 1_000_000;
const MAX_LINK_HOPS = 32;

/**
 * Unpack an image archive (tar, optionally gzip-compressed) into `into`,
 * returning its regular files by their normalised in-archive name. Entries
 * are written under numbered names, so no archive name, `..`, or link can
 * place bytes outside `into`; symlinks and hardlinks between archive members
 * (docker save uses them for shared layers) are resolved by name, in memory.
 */
export async function extractArchive(file: string, into: string, what: string): Promise<Map<string, ExtractedFile>> {
  const files = new Map<string, ExtractedFile>();
  const links = new Map<string, string>();
  let count = 0;
  const extract = tar.extract();
  const input = await openMaybeGzip(file);
  const feeding = pipeline(input, extract).catch((err: unknown) => {
    extract.destroy(err as Error);
  });
  try {
    for await (const entry of extract) {
      if (++count > MAX_ENTRIES) throw invalid(what, `more than ${MAX_ENTRIES} entries`);
      const header = entry.header;
      const name = normalise(header.name, what);
      if (header.type === 'file' || header.type === 'contiguous-file') {
        const path = join(into, String(count));
        await pipeline(entry, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
        files.set(name, { path, size: header.size ?? 0 });
        links.delete(name);
        continue;
      }
      if (header.type === 'symlink' && header.linkname) {
        if (header.linkname.startsWith('/')) throw invalid(what, `entry "${header.name}" is an absolute symlink`);
        links.set(name, normalise(posix.join(posix.dirname(name), header.linkname), what));
        files.delete(name);
      } else if (header.type === 'link' && header.linkname) {
        links.set(name, normalise(header.linkname, what));
        files.delete(name);
      }
      entry.resume();
    }
    await feeding;
  } catch (err) {
    input.destroy();
    if (err instanceof BerthError) throw err;
    throw invalid(what, (err as Error).message);
  }
  for (const [name, target] of links) {
    const resolved = follow(target, files, links);
    if (resolved) files.set(name, resolved);
  }
  return files;
}

function follow(start: string, files: Map<string, ExtractedFile>, links: Map<string, string>): ExtractedFile | undefined {
  let name = start;
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    const file = files.get(name);
    if (file) return file;
    const next = links.get(name);
    if (next === undefined) return undefined;
    name = next;
  }
  return undefined;
}

/** `./a//b/` → `a/b`; absolute names and `..` escapes are refused. */
function normalise(name: string, what: string): string {
  const clean = posix.normalize(name.replace(/^\.\/+/, '')).replace(/\/+$/, '');
  if (clean.startsWith('/') || clean === '..' || clean.startsWith('../')) throw invalid(what, `entry "${name}" points outside the archive`);
  return clean === '.' ? '' : clean;
}

function invalid(what: string, why: string): BerthError {
  return new BerthError('ARCHIVE_INVALID', `${what}: ${why}`);
}

/** A read stream of the archive, decompressed when it starts with the gzip magic bytes. */
async function openMaybeGzip(file: string): Promise<Readable> {
  const handle = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new BerthError('NOT_FOUND', `${file} does not exist`);
    throw err;
  });
  const magic = Buffer.alloc(2);
  try {
    await handle.read(magic, 0, 2, 0);
  } finally {
    await handle.close();
  }
  const raw = createReadStream(file);
  if (magic[0] !== 0x1f || magic[1] !== 0x8b) return raw;
  const out = new PassThrough();
  pipeline(raw, createGunzip(), out).catch((err: unknown) => out.destroy(err as Error));
  return out;
}
