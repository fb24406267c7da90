import { open, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { BerthError, isBerthError } from '../../errors/BerthError.js';
import { cleanMemberPath } from '../../layer/tarPath.js';
import { printable, TarReader } from '../../layer/tarReader.js';
import { BLOB_READ_CHUNK } from './blobReadChunk.js';

/** Where a regular file's bytes sit inside an uncompressed tar. */
export interface TarMember {
  offset: number;
  size: number;
}

const BLOCK = 512;
const MAX_ENTRIES = 1_000_000;
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

/**
 * One pass over the headers with the layer room's tar reader (the same
 * checks of checksums, number fields, PAX and GNU records as for layers),
 * reading header blocks only and seeking over member data.
 */
async function scan(handle: FileHandle, what: string): Promise<Map<string, TarMember>> {
  const invalid = (why: string): BerthError => new BerthError('ARCHIVE_INVALID', `${what}: ${why}`);
  const total = (await handle.stat()).size;
  const files = new Map<string, TarMember>();
  const links = new Map<string, string>();
  const reader = new TarReader({
    entry: (h) => {
      if (reader.entries > MAX_ENTRIES) throw invalid(`more than ${MAX_ENTRIES} entries`);
      const name = memberName(h.name);
      if (h.type === 'file') {
        files.set(name, { offset: reader.position, size: h.size });
        links.delete(name);
      } else if (h.type === 'symlink' && h.linkname !== '') {
        if (h.linkname.startsWith('/')) throw invalid(`entry "${printable(h.name)}" is an absolute symlink`);
        links.set(name, memberName(`${posix.dirname(h.name)}/${h.linkname}`));
        files.delete(name);
      } else if (h.type === 'hardlink' && h.linkname !== '') {
        links.set(name, memberName(h.linkname));
        files.delete(name);
      }
    },
    data: () => undefined,
    entryEnd: () => undefined,
  });
  const block = Buffer.alloc(BLOCK);
  let position = 0;
  try {
    while (!reader.ended) {
      if (position > total) throw invalid('truncated archive');
      if (position === total) {
        // A tar ends with zero blocks, but tools tolerate a missing trailer after the last member.
        if (reader.entries === 0) throw invalid('not a tar archive');
        reader.finish();
        break;
      }
      if (position + BLOCK > total) throw invalid(reader.entries === 0 ? 'not a tar archive' : 'truncated archive');
      await readExactly(handle, block, position);
      reader.push(block);
      position += BLOCK + reader.skipBody();
    }
  } catch (err) {
    if (!isBerthError(err) || err.code === 'ARCHIVE_INVALID') throw err;
    throw invalid(reader.entries === 0 && position === 0 ? `not a tar archive (${err.message})` : err.message);
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

/** A member name (a byte string from the reader) cleaned as layers are, as text: `./a//b/` → `a/b`; names that climb out are refused. */
function memberName(byteString: string): string {
  return Buffer.from(cleanMemberPath(byteString).join('/'), 'latin1').toString('utf8');
}
