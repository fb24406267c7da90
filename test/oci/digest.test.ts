import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { DigestingStream, digestOf, parseDigest } from '../../src/oci/digest.js';

const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

test('parseDigest accepts sha256 and sha512 and refuses malformed ones', () => {
  const good = digestOf('hello');
  assert.equal(parseDigest(good), good);
  assert.equal(parseDigest(digestOf('x', 'sha512')).length, 7 + 128);
  for (const bad of ['sha256:abc', `sha256:${'A'.repeat(64)}`, `md5:${'a'.repeat(32)}`, `sha256:${'a'.repeat(63)}g`, '', 'sha256', `sha256:../${'a'.repeat(61)}`]) {
    assert.throws(() => parseDigest(bad), { code: 'INVALID_DIGEST' }, bad);
  }
});

test('DigestingStream passes matching content and reports its digest', async () => {
  const data = Buffer.alloc(300_000, 7);
  const stream = new DigestingStream({ digest: digestOf(data), size: data.length });
  await pipeline(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), stream, sink());
  assert.equal(stream.digest(), digestOf(data));
  assert.equal(stream.bytes, data.length);
});

test('DigestingStream fails on wrong bytes, short content and oversize content', async () => {
  const data = Buffer.from('the real content');
  await assert.rejects(pipeline(Readable.from([Buffer.from('the fake content')]), new DigestingStream({ digest: digestOf(data), size: data.length }), sink()), { code: 'DIGEST_MISMATCH' });
  await assert.rejects(pipeline(Readable.from([data.subarray(0, 4)]), new DigestingStream({ digest: digestOf(data), size: data.length }), sink()), { code: 'SIZE_MISMATCH' });
  await assert.rejects(pipeline(Readable.from([data, data]), new DigestingStream({ digest: digestOf(data), size: data.length }), sink()), { code: 'SIZE_MISMATCH' });
});
