import { BerthError } from '../errors/BerthError.js';

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char-device' | 'block-device' | 'directory' | 'fifo';

/**
 * One tar member as read from an untrusted archive. Names are "byte strings"
 * (latin1: one char per byte) so that non-UTF-8 names survive unchanged on
 * their way to the filesystem; nothing here has been checked for safety yet.
 */
export interface TarEntryHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch, fractional when PAX gives sub-second precision. */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.* records from PAX headers: name → raw value. */
  xattrs: Map<string, Buffer>;
}

/** Receives entries synchronously, in archive order; `data` chunks belong to the last `entry`. */
export interface TarSink {
  entry(header: TarEntryHeader): void;
  data(chunk: Buffer): void;
  entryEnd(): void;
}

export interface TarReaderLimits {
  /** Largest PAX or GNU long-name record accepted, in bytes; larger ones are refused before buffering. */
  maxMetadataBytes?: number;
}

const BLOCK = 512;
const DEFAULT_MAX_METADATA = 1024 * 1024;
const typeByFlag: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

function invalid(why: string): BerthError {
  return new BerthError('LAYER_INVALID', `invalid tar: ${why}`);
}

/**
 * A synchronous push parser for ustar, PAX and GNU long-name archives.
 * It never buffers member data (only headers and bounded metadata records),
 * so a layer of any size streams straight to the sink. Sparse members are
 * refused: expanding them faithfully is not supported, and their declared
 * sizes are a classic disk-filling trick.
 */
export class TarReader {
  private readonly sink: TarSink;
  private readonly maxMetadata: number;
  private readonly header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private state: 'header' | 'data' | 'meta' | 'padding' | 'end' = 'header';
  private remaining = 0;
  private padding = 0;
  private zeroBlocks = 0;
  private meta: { kind: 'pax' | 'global' | 'longname' | 'longlink'; parts: Buffer[]; size: number } | undefined;
  private pax = new Map<string, Buffer>();
  private globalPax = new Map<string, Buffer>();
  private longName: string | undefined;
  private longLink: string | undefined;
  entries = 0;
  /** Input bytes consumed so far; inside `entry()` it is where the member's data starts. */
  position = 0;

  constructor(sink: TarSink, limits: TarReaderLimits = {}) {
    this.sink = sink;
    this.maxMetadata = limits.maxMetadataBytes ?? DEFAULT_MAX_METADATA;
  }

  get ended(): boolean {
    return this.state === 'end';
  }

  push(chunk: Buffer): void {
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      switch (this.state) {
        case 'end':
          return;
        case 'header': {
          const take = Math.min(BLOCK - this.headerFill, len - off);
          chunk.copy(this.header, this.headerFill, off, off + take);
          this.headerFill += take;
          off += take;
          this.position += take;
          if (this.headerFill === BLOCK) {
            this.headerFill = 0;
            this.onHeader();
          }
          break;
        }
        case 'data': {
          const take = Math.min(this.remaining, len - off);
          this.sink.data(off === 0 && take === len ? chunk : chunk.subarray(off, off + take));
          this.remaining -= take;
          off += take;
          this.position += take;
          if (this.remaining === 0) this.finishMember();
          break;
        }
        case 'meta': {
          const take = Math.min(this.remaining, len - off);
          const meta = this.meta!;
          meta.parts.push(Buffer.from(chunk.subarray(off, off + take)));
          this.remaining -= take;
          off += take;
          this.position += take;
          if (this.remaining === 0) {
            this.onMeta(Buffer.concat(meta.parts, meta.size));
            this.meta = undefined;
            this.toPadding();
          }
          break;
        }
        case 'padding': {
          const take = Math.min(this.padding, len - off);
          this.padding -= take;
          off += take;
          this.position += take;
          if (this.padding === 0) this.state = 'header';
          break;
        }
      }
    }
  }

  /**
   * Pass over the rest of the current member (its data and padding) without
   * being fed it, for a reader of a file that only needs headers and can
   * seek. Returns how many input bytes the caller must skip; the caller
   * checks that they exist.
   */
  skipBody(): number {
    if (this.state !== 'data' && this.state !== 'padding') return 0;
    const skipped = this.remaining + this.padding;
    const ended = this.state === 'data';
    this.remaining = 0;
    this.padding = 0;
    this.position += skipped;
    this.state = 'header';
    if (ended) this.sink.entryEnd();
    return skipped;
  }

  /** Call at end of input: a clean end is two zero blocks or EOF exactly at a header boundary. */
  finish(): void {
    if (this.state === 'end') return;
    if (this.state === 'header' && this.headerFill === 0 && this.meta === undefined && this.pax.size === 0 && this.longName === undefined && this.longLink === undefined) {
      this.state = 'end';
      return;
    }
    throw invalid('archive is truncated (unexpected end of data)');
  }

  private onHeader(): void {
    const h = this.header;
    if (isZeroBlock(h)) {
      this.zeroBlocks += 1;
      if (this.zeroBlocks >= 2) this.state = 'end';
      return;
    }
    if (this.zeroBlocks > 0) throw invalid('data after a zero block');
    verifyChecksum(h);
    const flag = String.fromCharCode(h[156]!);
    const size = readNumber(h, 124, 12, 'size');
    switch (flag) {
      case 'x':
      case 'g':
      case 'L':
      case 'K':
        if (size > this.maxMetadata) throw invalid(`metadata record of ${size} bytes exceeds the ${this.maxMetadata}-byte limit`);
        this.meta = { kind: flag === 'x' ? 'pax' : flag === 'g' ? 'global' : flag === 'L' ? 'longname' : 'longlink', parts: [], size };
        this.remaining = size;
        this.padding = padOf(size);
        if (size === 0) {
          this.onMeta(Buffer.alloc(0));
          this.meta = undefined;
          this.toPadding();
        } else {
          this.state = 'meta';
        }
        return;
      case 'S':
        throw new BerthError('UNSUPPORTED', `sparse tar member "${printable(readString(h, 0, 100))}" is not supported`);
      case 'V':
        this.remaining = size;
        this.padding = padOf(size);
        this.skipMember();
        return;
    }
    const type = typeByFlag[flag];
    if (!type) throw invalid(`unsupported member type ${JSON.stringify(flag)} for "${printable(readString(h, 0, 100))}"`);
    const header = this.buildHeader(h, type, size);
    this.entries += 1;
    const bodySize = header.size;
    if (type !== 'file') header.size = 0;
    this.sink.entry(header);
    if (type === 'file' && bodySize > 0) {
      this.remaining = bodySize;
      this.padding = padOf(bodySize);
      this.state = 'data';
      return;
    }
    // Links, directories and devices carry no data; skip whatever a hostile header declares.
    this.sink.entryEnd();
    this.padding = type === 'file' ? 0 : bodySize + padOf(bodySize);
    this.toPadding();
  }

  private buildHeader(h: Buffer, type: TarEntryType, headerSize: number): TarEntryHeader {
    const pax = this.pax;
    const global = this.globalPax;
    const field = (key: string): Buffer | undefined => pax.get(key) ?? global.get(key);
    for (const key of [...pax.keys(), ...global.keys()]) {
      if (key.startsWith('GNU.sparse.')) throw new BerthError('UNSUPPORTED', 'sparse tar members (GNU.sparse PAX records) are not supported');
    }
    const magic = h.toString('latin1', 257, 263);
    let name = readString(h, 0, 100);
    if (magic === 'ustar\0') {
      const prefix = readString(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (this.longName !== undefined) name = this.longName;
    const paxPath = field('path');
    if (paxPath) name = paxPath.toString('latin1');
    let linkname = this.longLink ?? readString(h, 157, 100);
    const paxLink = field('linkpath');
    if (paxLink) linkname = paxLink.toString('latin1');
    const size = paxNumber(field('size'), 'size') ?? headerSize;
    const xattrs = new Map<string, Buffer>();
    for (const [key, value] of pax) {
      if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), value);
    }
    const header: TarEntryHeader = {
      name,
      type,
      mode: readNumber(h, 100, 8, 'mode') & 0o7777,
      uid: paxNumber(field('uid'), 'uid') ?? readNumber(h, 108, 8, 'uid'),
      gid: paxNumber(field('gid'), 'gid') ?? readNumber(h, 116, 8, 'gid'),
      size,
      mtime: paxTime(field('mtime')) ?? readNumber(h, 136, 12, 'mtime'),
      linkname,
      devmajor: type === 'char-device' || type === 'block-device' ? readNumber(h, 329, 8, 'devmajor') : 0,
      devminor: type === 'char-device' || type === 'block-device' ? readNumber(h, 337, 8, 'devminor') : 0,
      xattrs,
    };
    this.pax = new Map();
    this.longName = undefined;
    this.longLink = undefined;
    return header;
  }

  private onMeta(body: Buffer): void {
    const kind = this.meta!.kind;
    if (kind === 'longname' || kind === 'longlink') {
      const end = body.indexOf(0);
      const value = body.toString('latin1', 0, end < 0 ? body.length : end);
      if (kind === 'longname') this.longName = value;
      else this.longLink = value;
      return;
    }
    const records = parsePax(body);
    const target = kind === 'pax' ? this.pax : this.globalPax;
    for (const [key, value] of records) target.set(key, value);
  }

  private skipMember(): void {
    if (this.remaining === 0) {
      this.toPadding();
      return;
    }
    // Reuse the padding state to discard the body and its padding together.
    this.padding += this.remaining;
    this.remaining = 0;
    this.state = 'padding';
  }

  private finishMember(): void {
    this.sink.entryEnd();
    this.toPadding();
  }

  private toPadding(): void {
    this.state = this.padding > 0 ? 'padding' : 'header';
  }
}

function padOf(size: number): number {
  const rest = size % BLOCK;
  return rest === 0 ? 0 : BLOCK - rest;
}

function isZeroBlock(h: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

function verifyChecksum(h: Buffer): void {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  const stored = readNumber(h, 148, 8, 'checksum');
  if (stored !== unsigned && stored !== signed) throw invalid('header checksum mismatch (corrupt archive, or not a tar)');
}

function readString(h: Buffer, off: number, len: number): string {
  let end = off;
  const stop = off + len;
  while (end < stop && h[end] !== 0) end++;
  return h.toString('latin1', off, end);
}

/** Octal (NUL/space padded) or GNU base-256 for large values; negative values are refused. */
function readNumber(h: Buffer, off: number, len: number, what: string): number {
  const first = h[off]!;
  if (first & 0x80) {
    if (first === 0xff) throw invalid(`negative ${what}`);
    let value = first & 0x7f;
    for (let i = 1; i < len; i++) value = value * 256 + h[off + i]!;
    if (!Number.isSafeInteger(value)) throw invalid(`${what} too large`);
    return value;
  }
  let i = off;
  const end = off + len;
  while (i < end && (h[i] === 0x20 || h[i] === 0)) i++;
  let value = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = h[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) throw invalid(`malformed ${what} field`);
    value = value * 8 + (c - 0x30);
    digits++;
  }
  if (digits === 0 && what === 'checksum') throw invalid('missing header checksum');
  return value;
}

function parsePax(body: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < body.length) {
    if (body[off] === 0) break;
    const space = body.indexOf(0x20, off);
    if (space < 0) throw invalid('malformed PAX record');
    const lenText = body.toString('latin1', off, space);
    if (!/^[0-9]{1,10}$/.test(lenText)) throw invalid('malformed PAX record length');
    const recordLen = Number(lenText);
    const end = off + recordLen;
    if (recordLen <= space - off + 1 || end > body.length || body[end - 1] !== 0x0a) throw invalid('malformed PAX record');
    const record = body.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw invalid('malformed PAX record (no key)');
    out.set(record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1)));
    off = end;
  }
  return out;
}

function paxNumber(value: Buffer | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const text = value.toString('latin1');
  if (!/^[0-9]{1,16}$/.test(text)) throw invalid(`malformed PAX ${what}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw invalid(`PAX ${what} too large`);
  return n;
}

function paxTime(value: Buffer | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.toString('latin1');
  if (!/^-?[0-9]{1,19}(\.[0-9]{1,19})?$/.test(text)) throw invalid('malformed PAX mtime');
  return Number(text);
}

/** A byte-string name made safe to print in a one-line error. */
export function printable(name: string): string {
  const text = Buffer.from(name, 'latin1').toString('utf8').replace(/[\x00-\x1f\x7f]/g, '?');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
