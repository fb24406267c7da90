import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { LayerDecoder } from '../../src/layer/layerDecoder.js';
import type { Digest } from '../../src/oci/digest.js';
import { tempDir } from '../support/peers.js';

const sha = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

/** 24 MiB, half random (incompressible), half zeros. */
const raw = Buffer.concat([randomBytes(12 * 1024 * 1024), Buffer.alloc(12 * 1024 * 1024)]);
const blob = gzipSync(raw, { level: 1 });

function chunks(bytes: Buffer, size = 65536): Readable {
  return Readable.from((function* () {
    for (let off = 0; off < bytes.length; off += size) yield bytes.subarray(off, off + size);
  })());
}

/** A consumer that yields to the event loop on every chunk, so back-pressure must hold the worker. */
function slowSink(into: Buffer[]): Writable {
  return new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _enc, done) {
      into.push(chunk);
      setImmediate(done);
    },
  });
}

test('the worker verifies, inflates and streams back exactly the uncompressed bytes, under back-pressure', async (t) => {
  const decoder = new LayerDecoder();
  t.after(() => decoder.close());
  const out: Buffer[] = [];
  await pipeline(chunks(blob), decoder.decode({ digest: sha(blob), size: blob.length, diffId: sha(raw) }), slowSink(out));
  assert.ok(Buffer.concat(out).equals(raw));
});

test('digest, size and diff_id failures come back as BerthErrors with their codes', async (t) => {
  const decoder = new LayerDecoder();
  t.after(() => decoder.close());
  const wrong = `sha256:${'1'.repeat(64)}` as Digest;
  const codeOf = async (expected: Parameters<LayerDecoder['decode']>[0]): Promise<string | undefined> => {
    try {
      await pipeline(chunks(blob), decoder.decode(expected), new Writable({ write: (_c, _e, done) => done() }));
      return undefined;
    } catch (err) {
      return (err as { code?: string }).code;
    }
  };
  assert.equal(await codeOf({ digest: wrong }), 'DIGEST_MISMATCH');
  assert.equal(await codeOf({ digest: sha(blob), size: blob.length - 1 }), 'SIZE_MISMATCH');
  assert.equal(await codeOf({ digest: sha(blob), diffId: wrong }), 'DIGEST_MISMATCH');
  assert.equal(await codeOf({ digest: sha(blob), diffId: sha(raw) }), undefined, 'the same decoder still works after failures');
});

test('a job aborted midway does not disturb the next one', async (t) => {
  const decoder = new LayerDecoder();
  t.after(() => decoder.close());
  let seen = 0;
  await assert.rejects(pipeline(chunks(blob), decoder.decode({}), new Writable({
    write(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      done(seen > 4 * 1024 * 1024 ? new Error('consumer gave up') : null);
    },
  })), /consumer gave up/);
  const out: Buffer[] = [];
  await pipeline(chunks(blob), decoder.decode({ diffId: sha(raw) }), slowSink(out));
  assert.ok(Buffer.concat(out).equals(raw));
});

test('the worker reads a local blob file itself, verifying it the same way', async (t) => {
  const decoder = new LayerDecoder();
  t.after(() => decoder.close());
  const dir = tempDir(t);
  const file = join(dir, 'blob');
  writeFileSync(file, blob);
  const out: Buffer[] = [];
  await pipeline(decoder.decodeFile(file, { digest: sha(blob), size: blob.length, diffId: sha(raw) }), slowSink(out));
  assert.ok(Buffer.concat(out).equals(raw));
  const codeOf = async (path: string, expected: Parameters<LayerDecoder['decode']>[0]): Promise<string | undefined> => {
    try {
      await pipeline(decoder.decodeFile(path, expected), new Writable({ write: (_c, _e, done) => done() }));
      return undefined;
    } catch (err) {
      return (err as { code?: string }).code;
    }
  };
  writeFileSync(file, Buffer.concat([blob.subarray(0, 1000), Buffer.from([blob[1000]! ^ 1]), blob.subarray(1001)]));
  assert.equal(await codeOf(file, { digest: sha(blob), size: blob.length }), 'DIGEST_MISMATCH');
  assert.equal(await codeOf(join(dir, 'missing'), { digest: sha(blob) }), 'NOT_FOUND');
});
