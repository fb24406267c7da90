import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BerthError } from '../errors/BerthError.js';
import { cleanMemberPath } from './tarPath.js';
import type { TarEntryType } from './tarReader.js';

/** One member to write. Metadata not given falls back to the writer's defaults. */
export interface LayerEntry {
  /** Path inside the layer, "/"-separated; a leading "/" or "./" is dropped. */
  path: string;
  type: TarEntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  mtime?: Date;
  /** Symlink target, or for hardlinks the layer path of the first link. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, string>;
  /** File content: bytes, or a file on disk read when the entry is written (size is taken from `size`). */
  content?: Buffer | { file: string; size: number };
}

export interface TarWriterOptions {
  /** Override every entry's owner (e.g. 0:0 for reproducible layers). */
  uid?: number;
  gid?: number;
  /** Override every entry's mtime (e.g. SOURCE_DATE_EPOCH); otherwise entries without one get the epoch. */
  mtime?: Date;
  /** Keep the given order instead of sorting (the caller already sorted, or order matters). */
  keepOrder?: boolean;
}

/** ustar numeric fields hold 7 octal digits for ids and 11 for sizes; beyond that PAX carries the value. */
const MAX_USTAR_ID = 0o7777777;
const MAX_USTAR_SIZE = 0o77777777777;
const EPOCH = new Date(0);
const EMPTY = Buffer.alloc(0);

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Write a deterministic tar: the same entries give the same bytes. Entries are
 * sorted by path (byte order, so parents precede children), names are
 * normalised, owners/mtimes can be fixed, and long or non-ASCII names, long
 * link targets, large sizes and ids go into PAX records (tar-stream emits a
 * PAX header whenever a field does not fit ustar). File contents stream from
 * disk; nothing is buffered beyond one chunk.
 */
export function writeTar(entries: readonly LayerEntry[], options: TarWriterOptions = {}): Readable {
  const normalised = entries.map((entry) => ({ entry, name: cleanMemberPath(entry.path, 'layer entry').join('/') }));
  if (!options.keepOrder) normalised.sort((a, b) => compareBytes(a.name, b.name));
  const pack = tar.pack();
  void (async () => {
    for (const { entry, name } of normalised) {
      await writeEntry(pack, entry, name, options);
    }
    pack.finalize();
  })().catch((err: unknown) => pack.destroy(err as Error));
  return pack as unknown as Readable;
}

async function writeEntry(pack: tar.Pack, entry: LayerEntry, name: string, options: TarWriterOptions): Promise<void> {
  if (name === '' && entry.type !== 'directory') throw new BerthError('LAYER_INVALID', 'only a directory entry may name the layer root');
  const size = entry.type === 'file' ? contentSize(entry) : 0;
  const uid = options.uid ?? entry.uid ?? 0;
  const gid = options.gid ?? entry.gid ?? 0;
  const pax: Record<string, string> = {};
  if (size > MAX_USTAR_SIZE) pax.size = String(size);
  if (uid > MAX_USTAR_ID) pax.uid = String(uid);
  if (gid > MAX_USTAR_ID) pax.gid = String(gid);
  for (const [key, value] of Object.entries(entry.xattrs ?? {})) pax[`SCHILY.xattr.${key}`] = value;
  const linkname = entry.linkname === undefined ? undefined : entry.type === 'hardlink' ? cleanMemberPath(entry.linkname, 'hardlink target').join('/') : entry.linkname;
  const header = {
    name: entry.type === 'directory' ? `${name === '' ? '.' : name}/` : name,
    type: tarStreamType(entry.type),
    mode: entry.mode ?? (entry.type === 'directory' ? 0o755 : entry.type === 'symlink' ? 0o777 : 0o644),
    uid: Math.min(uid, MAX_USTAR_ID),
    gid: Math.min(gid, MAX_USTAR_ID),
    uname: entry.uname ?? '',
    gname: entry.gname ?? '',
    mtime: options.mtime ?? entry.mtime ?? EPOCH,
    size,
    linkname: linkname ?? '',
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0,
    ...(Object.keys(pax).length > 0 ? { pax } : {}),
  };
  if (entry.type !== 'file') {
    await new Promise<void>((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
    return;
  }
  if (size === 0) {
    await new Promise<void>((resolve, reject) => pack.entry(header, EMPTY, (err) => (err ? reject(err) : resolve())));
    return;
  }
  const content = entry.content!;
  if (Buffer.isBuffer(content)) {
    await new Promise<void>((resolve, reject) => pack.entry(header, content, (err) => (err ? reject(err) : resolve())));
    return;
  }
  const sink = pack.entry(header);
  try {
    await pipeline(createReadStream(content.file), sink);
  } catch (err) {
    throw new BerthError('IO_ERROR', `cannot add ${content.file} to the layer (did it change while being read?): ${(err as Error).message}`, { cause: err });
  }
}

function contentSize(entry: LayerEntry): number {
  if (entry.content === undefined) return 0;
  return Buffer.isBuffer(entry.content) ? entry.content.length : entry.content.size;
}

function tarStreamType(type: TarEntryType): 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo' {
  switch (type) {
    case 'file':
      return 'file';
    case 'directory':
      return 'directory';
    case 'symlink':
      return 'symlink';
    case 'hardlink':
      return 'link';
    case 'char-device':
      return 'character-device';
    case 'block-device':
      return 'block-device';
    case 'fifo':
      return 'fifo';
  }
}
