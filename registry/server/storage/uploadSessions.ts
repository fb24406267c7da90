import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestingStream, digestAlgorithm, type Digest } from '../../../src/oci/digest.js';
import { RegistryError } from '../http/registryError.js';
import { ByteLimit } from './byteLimit.js';
import { isMissing, type RegistryStorage } from './registryStorage.js';
import { isUploadId } from './names.js';

interface UploadSession {
  id: string;
  repository: string;
  dir: string;
  size: number;
  /**
   * Running sha256 of the bytes written so far, so finishing an upload needs
   * no second read. Dropped (null) when a chunk failed half-way or the server
   * restarted; the file is then hashed again when the upload is finished.
   */
  hash: Hash | null;
  busy: boolean;
  lastUsed: number;
}

/**
 * Upload sessions (POST → PATCH… → PUT). The data lives in uploads/<id>/data
 * and is renamed into the blob store only after the digest the client names
 * matched, so an interrupted or lying upload can never become a blob.
 */
export class UploadSessions {
  private readonly sessions = new Map<string, UploadSession>();

  constructor(private readonly storage: RegistryStorage, private readonly maxBytes: number) {}

  async create(repository: string): Promise<UploadSession> {
    const id = randomUUID();
    const dir = join(this.storage.uploadsDir, id);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'data'), '');
    await writeFile(join(dir, 'repo'), repository);
    const session: UploadSession = { id, repository, dir, size: 0, hash: createHash('sha256'), busy: false, lastUsed: Date.now() };
    this.forgetIdle();
    this.sessions.set(id, session);
    return session;
  }

  /** The session, reloaded from disk after a restart; BLOB_UPLOAD_UNKNOWN when it is not this repository's. */
  async get(repository: string, id: string): Promise<UploadSession> {
    const unknown = () => new RegistryError(404, 'BLOB_UPLOAD_UNKNOWN', `upload ${id.slice(0, 64)} is unknown`);
    if (!isUploadId(id)) throw unknown();
    let session = this.sessions.get(id);
    if (!session) {
      const dir = join(this.storage.uploadsDir, id);
      try {
        const owner = await readFile(join(dir, 'repo'), 'utf8');
        const { size } = await stat(join(dir, 'data'));
        session = { id, repository: owner, dir, size, hash: null, busy: false, lastUsed: Date.now() };
        this.sessions.set(id, session);
      } catch (err) {
        if (isMissing(err)) throw unknown();
        throw err;
      }
    }
    if (session.repository !== repository) throw unknown();
    session.lastUsed = Date.now();
    return session;
  }

  /**
   * Abandoned sessions must not pile up in memory: past a few hundred, idle
   * ones are dropped from the map. Their data stays on disk and `get` reloads
   * them (the running hash is then recomputed at the end).
   */
  private forgetIdle(): void {
    if (this.sessions.size < 500) return;
    const cutoff = Date.now() - 10 * 60_000;
    for (const [id, session] of this.sessions) {
      if (!session.busy && session.lastUsed < cutoff) this.sessions.delete(id);
    }
  }

  /** Append a chunk. `start`, when the client sent Content-Range, must be exactly where the upload stands. */
  async append(session: UploadSession, body: Readable, start: number | undefined): Promise<void> {
    if (session.busy) throw rangeError(session, 'another chunk of this upload is still being written');
    if (start !== undefined && start !== session.size) throw rangeError(session, `chunk starts at ${start}, upload is at ${session.size}`);
    session.busy = true;
    const hash = session.hash;
    const counter = new ChunkCounter(hash);
    try {
      await pipeline(body, new ByteLimit(this.maxBytes - session.size), counter, createWriteStream(join(session.dir, 'data'), { flags: 'a', highWaterMark: 256 << 10 }));
      session.size += counter.bytes;
    } catch (err) {
      // Whatever part of the chunk reached the file is now the upload's content;
      // the running hash cannot know which part, so it is recomputed at the end.
      session.hash = null;
      session.size = await this.fileSize(session);
      throw err;
    } finally {
      session.busy = false;
    }
  }

  /** Verify the finished upload against the digest the client claims and move it into the blob store. */
  async finish(session: UploadSession, expected: Digest): Promise<number> {
    if (session.busy) throw rangeError(session, 'a chunk of this upload is still being written');
    session.busy = true;
    try {
      let actual: string;
      if (session.hash && digestAlgorithm(expected) === 'sha256') {
        actual = `sha256:${session.hash.digest('hex')}`;
        session.hash = null;
      } else {
        const rehash = new DigestingStream({ algorithm: digestAlgorithm(expected) });
        await pipeline(createReadStream(join(session.dir, 'data'), { highWaterMark: 1 << 20 }), rehash, async function* drain(source) {
          for await (const _ of source) void _;
        });
        actual = rehash.digest();
      }
      if (actual !== expected) {
        await this.cancel(session);
        throw new RegistryError(400, 'DIGEST_INVALID', `uploaded content has digest ${actual}, not ${expected}`);
      }
      await this.storage.commitFile(join(session.dir, 'data'), expected);
      await this.storage.linkBlob(session.repository, expected);
      await this.cancel(session);
      return session.size;
    } finally {
      session.busy = false;
    }
  }

  async cancel(session: UploadSession): Promise<void> {
    this.sessions.delete(session.id);
    await rm(session.dir, { recursive: true, force: true });
  }

  private async fileSize(session: UploadSession): Promise<number> {
    try {
      return (await stat(join(session.dir, 'data'))).size;
    } catch (err) {
      if (isMissing(err)) return 0;
      throw err;
    }
  }
}

export type { UploadSession };

function rangeError(session: UploadSession, why: string): RegistryError {
  return new RegistryError(416, 'BLOB_UPLOAD_INVALID', why, undefined, { Range: rangeHeader(session.size), 'Docker-Upload-UUID': session.id });
}

/** The spec's `Range: 0-<last byte>` (docker-registry sends 0-0 for an empty upload too). */
export function rangeHeader(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

/** Counts and hashes chunk bytes on their way to the upload file. */
class ChunkCounter extends Transform {
  bytes = 0;

  constructor(private readonly hash: Hash | null) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash?.update(chunk);
    done(null, chunk);
  }
}
