import { open, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { BerthError } from '../../errors/BerthError.js';
import { BLOB_READ_CHUNK } from './blobReadChunk.js';

/** Where a regular file's bytes sit inside an uncompressed tar. */
export interface TarMember {
  offset: number;
  size: number;
}

const BLOCK = 512;
const MAX_ENTRIES = 1_000_000;
const MAX_META_BYTES = 1024 * 1024;
const MAX_LINK_HOPS = 32;

/**
 * An uncompressed tar read in place: one pass over its headers records where
 * each regular file's bytes are, so members are streamed straight from the
 * archive (no unpacking to disk). Names are normalised and must stay inside
 * the archive; symlinks and hardlinks between members (docker save uses them
 * for shared layers) resolve to the member they name, never to the host.
 */
export class TarIndex {
  private constructor(
    readonly file: string,
    private readonly members: Map<string, TarMember>,
  ) {}

  static async build(file: string, what: string): Promise<TarIndex> {
    const handle = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new BerthError('NOT_FOUND', `${file} does not exist`);
      if (err.code === 'EISDIR') throw new BerthError('ARCHIVE_INVALID', `${file} is a directory, not an archive`);
      throw err;
    });
    try {
      return new TarIndex(file, await scan(handle, what));
    } finally {
      await handle.close();
    }
  }

  has(name: string): boolean {
    return this.members.has(name);
  }

  get(name: string): TarMember | undefined {
    return this.members.get(name);
  }

  names(): string[] {
    return [...this.members.keys()];
  }

  async open(member: TarMember): Promise<Readable> {
    if (member.size === 0) return Readable.from([]);
    const handle = await open(this.file, 'r');
    return handle.createReadStream({ start: member.offset, end: member.offset + member.size - 1, highWaterMark: BLOB_READ_CHUNK });
  }

  /** Read a small member whole, refusing anything over `limit` bytes. */
  async read(member: TarMember, limit: number, what: string): Promise<Buffer> {
    if (member.size > limit) throw new BerthError('ARCHIVE_INVALID', `${what} is larger than ${limit} bytes`);
    const handle = await open(this.file, 'r');
    try {
      const out = Buffer.alloc(member.size);
      const { bytesRead } = await handle.read(out, 0, member.size, member.offset);
      if (bytesRead !== member.size) throw new BerthError('ARCHIVE_INVALID', `${what} is truncated`);
      return out;
    } finally {
      await handle.close();
    }
  }
}

async function scan(handle: FileHandle, what: string): Promise<Map<string, TarMember>> {
  const invalid = (why: string): BerthError => new BerthError('ARCHIVE_INVALID', `${what}: ${why}`);
  const total = (await handle.stat()).size;
  const files = new Map<string, TarMember>();
  const links = new Map<string, string>();
  const header = Buffer.alloc(BLOCK);
  let position = 0;
  let count = 0;
  let pending: { path?: string; linkpath?: string; size?: number } = {};
  for (;;) {
    if (position + BLOCK > total) {
      // A tar ends with zero blocks, but tools tolerate a missing trailer after the last member.
      if (count > 0 && position === total) break;
      throw invalid(count === 0 ? 'not a tar archive' : 'truncated archive');
    }
    await readExactly(handle, header, position);
    if (header.every((b) => b === 0)) break;
    if (!checksumOk(header)) throw invalid(count === 0 ? 'not a tar archive' : `corrupt tar header at byte ${position}`);
    if (++count > MAX_ENTRIES) throw invalid(`more than ${MAX_ENTRIES} entries`);
    const type = String.fromCharCode(header[156] ?? 0);
    const size = pending.size ?? parseNumber(header.subarray(124, 136), invalid);
    const dataAt = position + BLOCK;
    const next = dataAt + Math.ceil(size / BLOCK) * BLOCK;
    if (dataAt + size > total) throw invalid('truncated archive');

    if (type === 'x' || type === 'L' || type === 'K') {
      if (size > MAX_META_BYTES) throw invalid('oversized extended header');
      const data = Buffer.alloc(size);
      await readExactly(handle, data, dataAt);
      if (type === 'x') pending = { ...pending, ...parsePax(data, invalid) };
      else if (type === 'L') pending.path = cString(data);
      else pending.linkpath = cString(data);
      position = next;
      continue;
    }
    if (type !== 'g') {
      const rawName = pending.path ?? headerName(header);
      const name = normalise(rawName, invalid);
      const linkname = pending.linkpath ?? cString(header.subarray(157, 257));
      if (type === '0' || type === '\0' || type === '7') {
        files.set(name, { offset: dataAt, size });
        links.delete(name);
      } else if (type === '2' && linkname !== '') {
        if (linkname.startsWith('/')) throw invalid(`entry "${rawName}" is an absolute symlink`);
        links.set(name, normalise(posix.join(posix.dirname(name), linkname), invalid));
        files.delete(name);
      } else if (type === '1' && linkname !== '') {
        links.set(name, normalise(linkname, invalid));
        files.delete(name);
      }
    }
    pending = {};
    position = next;
  }
  for (const [name, target] of links) {
    const resolved = follow(target, files, links);
    if (resolved) files.set(name, resolved);
  }
  return files;
}

async function readExactly(handle: FileHandle, into: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new BerthError('ARCHIVE_INVALID', 'archive ended inside a header');
    done += bytesRead;
  }
}

function follow(start: string, files: Map<string, TarMember>, links: Map<string, string>): TarMember | undefined {
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

function checksumOk(header: Buffer): boolean {
  const stored = Number.parseInt(cString(header.subarray(148, 156)).trim() || 'x', 8);
  if (!Number.isFinite(stored)) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
  return sum === stored;
}

/** name, with the ustar prefix when present. */
function headerName(header: Buffer): string {
  const name = cString(header.subarray(0, 100));
  const magic = header.subarray(257, 262).toString('latin1');
  const prefix = magic === 'ustar' ? cString(header.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

/** Octal, or base-256 (high bit set) as GNU tar writes sizes over 8 GiB. */
function parseNumber(field: Buffer, invalid: (why: string) => BerthError): number {
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] as number);
    if (!Number.isSafeInteger(value)) throw invalid('entry size out of range');
    return value;
  }
  const text = cString(field).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw invalid(`invalid size field "${text}"`);
  return Number.parseInt(text, 8);
}

function parsePax(data: Buffer, invalid: (why: string) => BerthError): { path?: string; linkpath?: string; size?: number } {
  const out: { path?: string; linkpath?: string; size?: number } = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number.parseInt(data.subarray(at, space).toString('latin1'), 10);
    if (!Number.isSafeInteger(length) || length <= 0 || at + length > data.length) throw invalid('malformed PAX header');
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') out.path = value;
    else if (key === 'linkpath') out.linkpath = value;
    else if (key === 'size') {
      if (!/^\d+$/.test(value)) throw invalid('malformed PAX size');
      out.size = Number(value);
    }
    at += length;
  }
  return out;
}

/** `./a//b/` → `a/b`; absolute names and `..` escapes are refused. */
function normalise(name: string, invalid: (why: string) => BerthError): string {
  const clean = posix.normalize(name.replace(/^\.\/+/, '')).replace(/\/+$/, '');
  if (clean.startsWith('/') || clean === '..' || clean.startsWith('../')) throw invalid(`entry "${name}" points outside the archive`);
  return clean === '.' ? '' : clean;
}
