import { Duplex, type Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { BerthError, type ErrorCode } from '../errors/BerthError.js';
import { packageFile } from '../packageFile.js';
import type { Digest } from '../oci/digest.js';
import type { FromWorker, ToWorker } from './decodeWorker.js';

/** Compressed bytes the main thread may have in flight to the worker before it waits. */
const MAX_IN_FLIGHT = 4 * 1024 * 1024;
/** Input is sent in batches of about this size: per-message and per-inflate-call costs dominate with 64 KiB reads. */
const BATCH_BYTES = 1024 * 1024;

export interface DecodeExpectation {
  digest?: Digest;
  size?: number;
  diffId?: Digest;
}

/**
 * Verifying and decompressing a layer costs as much CPU as writing it out, so
 * `berth unpack` does it on a worker thread: the main thread reads the blob
 * and applies the tar (sync fs calls), the worker hashes the compressed
 * stream, inflates it and hashes the result, in parallel. One worker serves
 * the layers of an image one after another. Messages carry transferred
 * buffers; back-pressure runs both ways (acks for input, pause/resume for
 * output), so nothing is buffered beyond a few MiB.
 */
export class LayerDecoder {
  private worker: Worker | undefined;
  private busy = false;
  private jobs = 0;

  /** Start the worker ahead of the first layer (its start-up then overlaps with reading manifests). */
  prestart(): void {
    this.ensureWorker().unref();
  }

  private ensureWorker(): Worker {
    this.worker ??= new Worker(packageFile('dist/bin/decode-worker.cjs'));
    return this.worker;
  }

  /** A duplex: write the blob's bytes, read the verified uncompressed tar; errors carry the worker's BerthError code. */
  decode(expected: DecodeExpectation): Duplex {
    return this.job(expected, undefined);
  }

  /**
   * The verified uncompressed tar of a blob the worker reads from a local
   * file itself: the compressed bytes never pass through this thread.
   */
  decodeFile(path: string, expected: DecodeExpectation): Readable {
    const readable = this.job(expected, path);
    readable.end();
    return readable;
  }

  private job(expected: DecodeExpectation, file: string | undefined): Duplex {
    if (this.busy) throw new BerthError('INTERNAL', 'layer decoder is busy');
    this.busy = true;
    const worker = this.ensureWorker();
    const job = ++this.jobs;
    // Keep the process alive while a job runs; an idle worker must not.
    worker.ref();
    let inFlight = 0;
    let pausedOutput = false;
    let waitingWrite: (() => void) | undefined;
    let finished = false;
    const send = (message: ToWorker, transfer?: ArrayBuffer[]): void => worker.postMessage(message, transfer);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = (): void => {
      if (pendingBytes === 0) return;
      const batch = new Uint8Array(pendingBytes);
      let off = 0;
      for (const part of pending) {
        batch.set(part, off);
        off += part.length;
      }
      pending = [];
      pendingBytes = 0;
      inFlight += batch.byteLength;
      send({ type: 'data', chunk: batch }, [batch.buffer]);
    };
    const release = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.unref();
      this.busy = false;
    };
    const duplex = new Duplex({
      readableHighWaterMark: 4 * 1024 * 1024,
      writableHighWaterMark: 1024 * 1024,
      write(chunk: Buffer, _enc, done) {
        if (file !== undefined) {
          done(new BerthError('INTERNAL', 'layer decoder reads this blob from its file'));
          return;
        }
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= BATCH_BYTES) flush();
        if (inFlight < MAX_IN_FLIGHT) done();
        else waitingWrite = done;
      },
      final(done) {
        if (file === undefined) {
          flush();
          send({ type: 'end' });
        }
        done();
      },
      read() {
        if (!pausedOutput) return;
        pausedOutput = false;
        send({ type: 'resume' });
      },
      destroy(err, done) {
        if (!finished) {
          finished = true;
          send({ type: 'abort' });
          release();
        }
        done(err);
      },
    });
    const onMessage = (message: FromWorker): void => {
      if (message.job !== job) return;
      switch (message.type) {
        case 'ack': {
          inFlight -= message.bytes;
          if (inFlight < MAX_IN_FLIGHT && waitingWrite) {
            const w = waitingWrite;
            waitingWrite = undefined;
            w();
          }
          break;
        }
        case 'data':
          if (!duplex.push(Buffer.from(message.chunk.buffer, message.chunk.byteOffset, message.chunk.byteLength)) && !pausedOutput) {
            pausedOutput = true;
            send({ type: 'pause' });
          }
          break;
        case 'done':
          finished = true;
          release();
          duplex.push(null);
          break;
        case 'error':
          finished = true;
          release();
          duplex.destroy(new BerthError(message.code as ErrorCode, message.message));
          break;
      }
    };
    const onError = (err: Error): void => {
      finished = true;
      release();
      this.worker = undefined;
      duplex.destroy(new BerthError('INTERNAL', `layer decoder worker failed: ${err.message}`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    send({ type: 'start', job, ...expected, ...(file !== undefined ? { file } : {}) });
    return duplex;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }
}
