import { closeSync, constants, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { BerthError, isBerthError } from '../errors/BerthError.js';
import { cleanMemberPath } from './tarPath.js';
import { printable, type TarEntryType } from './tarReader.js';

/**
 * A name as given to the writer: a string is text (written as UTF-8), a
 * Buffer is raw bytes (a file name on disk that is not valid UTF-8).
 */
export type TarName = string | Buffer;

/** One member to write. Metadata not given falls back to the writer's defaults. */
export interface LayerEntry {
  /** Path inside the layer, "/"-separated; a leading "/" or "./" is dropped. */
  path: TarName;
  type: TarEntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  mtime?: Date;
  /** Symlink target, or for hardlinks the layer path of the first link. */
  linkname?: TarName;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes as SCHILY.xattr PAX records; Buffer values are written byte for byte (security.capability). */
  xattrs?: Record<string, string | Buffer>;
  /** File content: bytes, or a file on disk. */
  content?: Buffer | FileSource;
}

/** A file on disk read when its member is written; it must still have `size` bytes then. */
export interface FileSource {
  file: TarName;
  size: number;
}

export interface TarWriterOptions {
  /** Override every entry's owner (e.g. 0:0 for reproducible layers). */
  uid?: number;
  gid?: number;
  /** Pin every entry's mtime (e.g. SOURCE_DATE_EPOCH); otherwise entries without one get the epoch. */
  mtime?: Date;
  /** Clamp: an entry newer than this gets this time, older ones keep theirs (BuildKit's rewrite-timestamp). */
  clampMtime?: Date;
  /** Keep the given order instead of sorting (the caller already sorted, or order matters). */
  keepOrder?: boolean;
}

const BLOCK = 512;
/** ustar numeric fields hold 7 octal digits for ids and 11 for sizes and times; beyond that PAX carries the value. */
const MAX_USTAR_ID = 0o7777777;
const MAX_USTAR_SIZE = 0o77777777777;
const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);
const READ_CHUNK = 1024 * 1024;
/**
 * Files up to this size are read with one synchronous open/read/close: a
 * few microseconds of event loop each, where the three promise round trips
 * through libuv's pool cost five times as much (10,000 small files: about
 * 85 ms against 450 ms), which dominated layers of many small files.
 */
const SMALL_FILE = 64 * 1024;
const typeFlag: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  'char-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};

/**
 * Write a deterministic tar: the same entries give the same bytes. Entries
 * are sorted by path (byte order, so parents precede children), names are
 * normalised, owners and mtimes can be fixed, and whatever ustar cannot hold
 * exactly (long or non-ASCII names and link targets, big sizes, ids and
 * times, extended attributes) goes into a PAX record, byte for byte. Large
 * files stream from disk a chunk at a time, small ones are read whole.
 * `entries` may still be being collected: the stream starts at once and
 * fails if collecting fails.
 */
export function writeTar(entries: readonly LayerEntry[] | Promise<readonly LayerEntry[]>, options: TarWriterOptions = {}): Readable {
  return Readable.from(batched(tarBlocks(entries, options)), { objectMode: false });
}

/** Output chunks of at least this size: a layer of small files is thousands of 512-byte blocks, each a stream hop. */
const BATCH = 256 * 1024;

async function* batched(blocks: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let total = 0;
  for await (const block of blocks) {
    parts.push(block);
    total += block.length;
    if (total >= BATCH) {
      yield Buffer.concat(parts, total);
      parts = [];
      total = 0;
    }
  }
  if (total > 0) yield Buffer.concat(parts, total);
}

async function* tarBlocks(pending: readonly LayerEntry[] | Promise<readonly LayerEntry[]>, options: TarWriterOptions): AsyncGenerator<Buffer> {
  const named = (await pending).map((entry) => ({ entry, name: memberName(entry.path, 'layer entry') }));
  if (!options.keepOrder) named.sort((a, b) => Buffer.compare(a.name, b.name));
  for (const { entry, name } of named) yield* member(entry, name, options);
  yield END_OF_ARCHIVE;
}

/** A cleaned member name as bytes; text is UTF-8, raw bytes stay as they are. */
function memberName(path: TarName, what: string): Buffer {
  const encoding = Buffer.isBuffer(path) ? 'latin1' : 'utf8';
  const text = Buffer.isBuffer(path) ? path.toString('latin1') : path;
  return Buffer.from(cleanMemberPath(text, what).join('/'), encoding);
}

function nameBytes(name: TarName): Buffer {
  return Buffer.isBuffer(name) ? name : Buffer.from(name, 'utf8');
}

async function* member(entry: LayerEntry, name: Buffer, options: TarWriterOptions): AsyncGenerator<Buffer> {
  if (name.length === 0 && entry.type !== 'directory') throw new BerthError('LAYER_INVALID', 'only a directory entry may name the layer root');
  const size = entry.type === 'file' ? contentSize(entry) : 0;
  const fullName = entry.type !== 'directory' ? name : Buffer.concat([name.length === 0 ? Buffer.from('.') : name, Buffer.from('/')]);
  const linkname =
    entry.linkname === undefined ? Buffer.alloc(0) : entry.type === 'hardlink' ? memberName(entry.linkname, 'hardlink target') : nameBytes(entry.linkname);
  const fields: HeaderFields = {
    name: fullName,
    flag: typeFlag[entry.type],
    mode: (entry.mode ?? (entry.type === 'directory' ? 0o755 : entry.type === 'symlink' ? 0o777 : 0o644)) & 0o7777,
    uid: options.uid ?? entry.uid ?? 0,
    gid: options.gid ?? entry.gid ?? 0,
    size,
    mtime: memberTime(entry, options),
    linkname,
    uname: Buffer.from(entry.uname ?? '', 'utf8'),
    gname: Buffer.from(entry.gname ?? '', 'utf8'),
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0,
  };
  const records = paxRecords(fields, entry.xattrs);
  if (records.length > 0) {
    const body = Buffer.concat(records);
    yield encodeHeader({ ...EXTENDED_HEADER, size: body.length });
    yield body;
    yield* padding(body.length);
  }
  yield encodeHeader(fields);
  if (size === 0) return;
  if (Buffer.isBuffer(entry.content)) yield entry.content;
  else if (entry.content!.size <= SMALL_FILE) yield readSmallFile(entry.content!);
  else yield* fileContent(entry.content!);
  yield* padding(size);
}

function memberTime(entry: LayerEntry, options: TarWriterOptions): number {
  const time = options.mtime ?? entry.mtime ?? new Date(0);
  const clamped = options.clampMtime !== undefined && time > options.clampMtime ? options.clampMtime : time;
  return Math.floor(clamped.getTime() / 1000);
}

function describe(source: FileSource): { changed: (why: string) => BerthError } {
  const shown = printable(Buffer.isBuffer(source.file) ? source.file.toString('latin1') : Buffer.from(source.file).toString('latin1'));
  return { changed: (why) => new BerthError('IO_ERROR', `cannot add ${shown} to the layer: ${why} (did it change while being read?)`) };
}

/**
 * Open a file for a member whose header declares `size`. O_NOFOLLOW: a file
 * swapped for a symlink after the walk must not pull some other file (the
 * host's) into the layer; a changed size is an error, since the header
 * cannot be taken back.
 */
async function openDeclared(source: FileSource): Promise<{ handle: FileHandle; changed: (why: string) => BerthError }> {
  const { changed } = describe(source);
  const handle = await open(source.file, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: Error) => {
    throw changed(err.message);
  });
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw changed('not a regular file any more');
    if (st.size !== source.size) throw changed(`size is ${st.size}, not ${source.size}`);
  } catch (err) {
    await handle.close();
    throw err;
  }
  return { handle, changed };
}

/** A file's declared bytes, a chunk at a time. */
async function* fileContent(source: FileSource): AsyncGenerator<Buffer> {
  const { handle, changed } = await openDeclared(source);
  try {
    let position = 0;
    while (position < source.size) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, source.size - position));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) throw changed('it became shorter');
      position += bytesRead;
      yield bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/**
 * A small file's declared bytes: open, one read, close (no fstat: reading
 * one byte more than declared shows a changed size, and O_NONBLOCK keeps a
 * FIFO swapped in from blocking the open).
 */
function readSmallFile(source: FileSource): Buffer {
  const { changed } = describe(source);
  let fd: number;
  try {
    fd = openSync(source.file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw changed((err as Error).message);
  }
  try {
    const bytes = Buffer.allocUnsafe(source.size + 1);
    let filled = 0;
    for (;;) {
      const read = readSync(fd, bytes, filled, bytes.length - filled, filled);
      if (read === 0) break;
      filled += read;
      if (filled === bytes.length) break;
    }
    if (filled !== source.size) throw changed(`it does not hold ${source.size} bytes any more`);
    return bytes.subarray(0, filled);
  } catch (err) {
    throw isBerthError(err) ? err : changed((err as Error).message);
  } finally {
    closeSync(fd);
  }
}

function contentSize(entry: LayerEntry): number {
  if (entry.content === undefined) return 0;
  return Buffer.isBuffer(entry.content) ? entry.content.length : entry.content.size;
}

interface HeaderFields {
  name: Buffer;
  flag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname: Buffer;
  uname: Buffer;
  gname: Buffer;
  devmajor: number;
  devminor: number;
}

/** The PAX header that precedes a member whose metadata does not fit ustar. */
const EXTENDED_HEADER: HeaderFields = {
  name: Buffer.from('././@PaxHeader'),
  flag: 'x',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 0,
  linkname: Buffer.alloc(0),
  uname: Buffer.alloc(0),
  gname: Buffer.alloc(0),
  devmajor: 0,
  devminor: 0,
};

function fitsUstarText(value: Buffer, width: number): boolean {
  return value.length <= width && value.every((byte) => byte > 0 && byte < 0x80);
}

/**
 * PAX records for what ustar cannot carry, in a fixed order. Names that are
 * not UTF-8 go in as raw bytes without POSIX's hdrcharset=BINARY flag: GNU
 * tar warns about that keyword, and readers (GNU tar, Go, berth) take the
 * bytes as they are anyway.
 */
function paxRecords(fields: HeaderFields, xattrs: LayerEntry['xattrs']): Buffer[] {
  const records: Buffer[] = [];
  const add = (key: string, value: Buffer): void => {
    records.push(paxRecord(key, value));
  };
  const addText = (key: string, value: Buffer, width: number): void => {
    if (!fitsUstarText(value, width)) add(key, value);
  };
  addText('path', fields.name, 100);
  addText('linkpath', fields.linkname, 100);
  addText('uname', fields.uname, 31);
  addText('gname', fields.gname, 31);
  if (fields.size > MAX_USTAR_SIZE) add('size', Buffer.from(String(fields.size)));
  if (fields.uid > MAX_USTAR_ID) add('uid', Buffer.from(String(fields.uid)));
  if (fields.gid > MAX_USTAR_ID) add('gid', Buffer.from(String(fields.gid)));
  if (fields.mtime < 0 || fields.mtime > MAX_USTAR_SIZE) add('mtime', Buffer.from(String(fields.mtime)));
  for (const key of Object.keys(xattrs ?? {}).sort()) {
    const value = xattrs![key]!;
    if (key.includes('=') || key.includes('\0')) throw new BerthError('LAYER_INVALID', `extended attribute name ${printable(key)} cannot be written`);
    add(`SCHILY.xattr.${key}`, Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'));
  }
  return records;
}

/** "LEN KEY=VALUE\n", where LEN counts its own digits. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3; // space, "=", newline
  let length = rest + String(rest).length;
  if (String(length).length + rest !== length) length = rest + String(length).length;
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from('\n')]);
}

function encodeHeader(fields: HeaderFields): Buffer {
  const h = Buffer.alloc(BLOCK);
  fields.name.copy(h, 0, 0, Math.min(fields.name.length, 100));
  octal(h, 100, 8, fields.mode);
  octal(h, 108, 8, Math.min(fields.uid, MAX_USTAR_ID));
  octal(h, 116, 8, Math.min(fields.gid, MAX_USTAR_ID));
  octal(h, 124, 12, fields.size > MAX_USTAR_SIZE ? 0 : fields.size);
  octal(h, 136, 12, fields.mtime < 0 || fields.mtime > MAX_USTAR_SIZE ? 0 : fields.mtime);
  h.write(fields.flag, 156, 1, 'latin1');
  fields.linkname.copy(h, 157, 0, Math.min(fields.linkname.length, 100));
  h.write('ustar\x0000', 257, 8, 'latin1');
  fields.uname.copy(h, 265, 0, Math.min(fields.uname.length, 31));
  fields.gname.copy(h, 297, 0, Math.min(fields.gname.length, 31));
  octal(h, 329, 8, fields.devmajor);
  octal(h, 337, 8, fields.devminor);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

function octal(h: Buffer, offset: number, width: number, value: number): void {
  h.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'latin1');
}

/** Zeros up to the next block boundary, if any. */
function* padding(size: number): Generator<Buffer> {
  const rest = size % BLOCK;
  if (rest !== 0) yield Buffer.alloc(BLOCK - rest);
}
