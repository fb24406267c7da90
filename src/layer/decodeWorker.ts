import { createReadStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parentPort } from 'node:worker_threads';
import { toBerthError } from '../errors/BerthError.js';
import { DigestingStream, type Digest } from '../oci/digest.js';
import { decompressStream } from './compression.js';

/**
 * Worker side of the off-thread layer decoder (see layerDecoder.ts): verifies
 * the compressed stream against the descriptor, decompresses it, verifies the
 * result against the diff_id, and hands uncompressed chunks back. The blob
 * comes either as 'data' messages or, for a local file, straight from disk
 * (`file`): then the main thread never touches the compressed bytes. Jobs run
 * one at a time; the main thread never sends a second before the first is done.
 */
export type ToWorker =
  | { type: 'start'; job: number; digest?: Digest; size?: number; diffId?: Digest; file?: string }
  | { type: 'data'; chunk: Uint8Array }
  | { type: 'end' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'abort' };

/** Every reply names its job, so late messages of an aborted job are never mistaken for the next one's. */
export type FromWorker =
  | { type: 'ack'; job: number; bytes: number }
  | { type: 'data'; job: number; chunk: Uint8Array }
  | { type: 'done'; job: number }
  | { type: 'error'; job: number; code: string; message: string };

const port = parentPort!;
/** Reads of a local blob file: large, as nothing else shares this thread's memory or time. */
const FILE_READ_CHUNK = 1024 * 1024;
let input: Readable | undefined;
let currentJob = 0;
/** Bytes received but not yet taken by the pipeline: acknowledged when it reads again (back-pressure to the main thread). */
let unacked = 0;
let paused = false;
let resumeWaiter: (() => void) | undefined;

function post(message: FromWorker, transfer?: ArrayBuffer[]): void {
  port.postMessage(message, transfer);
}

function startJob(job: Extract<ToWorker, { type: 'start' }>): void {
  const id = job.job;
  currentJob = id;
  resumeWaiter = undefined;
  const source = job.file
    ? createReadStream(job.file, { highWaterMark: FILE_READ_CHUNK })
    : new Readable({
        highWaterMark: 1024 * 1024,
        read() {
          if (unacked > 0) {
            post({ type: 'ack', job: id, bytes: unacked });
            unacked = 0;
          }
        },
      });
  unacked = 0;
  input = source;
  paused = false;
  const output = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, done) {
      // A copy the main thread can own outright (zlib output chunks may share memory).
      const copy = new Uint8Array(chunk.byteLength);
      copy.set(chunk);
      post({ type: 'data', job: id, chunk: copy }, [copy.buffer]);
      if (!paused) {
        done();
        return;
      }
      resumeWaiter = done;
    },
  });
  const stages = [
    source,
    new DigestingStream({ ...(job.digest ? { digest: job.digest } : {}), ...(job.size !== undefined ? { size: job.size } : {}) }),
    decompressStream(),
    new DigestingStream(job.diffId ? { digest: job.diffId } : {}),
    output,
  ] as const;
  pipeline(...stages).then(
    () => post({ type: 'done', job: id }),
    (err: unknown) => {
      const error = toBerthError(err);
      post({ type: 'error', job: id, code: error.code, message: error.message });
    },
  );
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'start':
      startJob(message);
      break;
    case 'data': {
      const chunk = Buffer.from(message.chunk.buffer, message.chunk.byteOffset, message.chunk.byteLength);
      if (input?.push(chunk)) post({ type: 'ack', job: currentJob, bytes: chunk.length });
      else unacked += chunk.length;
      break;
    }
    case 'end':
      input?.push(null);
      break;
    case 'pause':
      paused = true;
      break;
    case 'resume': {
      paused = false;
      const waiter = resumeWaiter;
      resumeWaiter = undefined;
      waiter?.();
      break;
    }
    case 'abort':
      input?.destroy();
      input = undefined;
      break;
  }
});
