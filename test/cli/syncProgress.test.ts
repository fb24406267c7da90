import assert from 'node:assert/strict';
import { test } from 'node:test';
import { syncProgressDisplay } from '../../src/cli/progressDisplay.js';
import type { Digest } from '../../src/oci/digest.js';

/** A terminal that records what is written to it. */
function terminal(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const out = { isTTY, text: '', write(chunk: string) {
    out.text += chunk;
    return true;
  } };
  return out as unknown as NodeJS.WriteStream & { text: string };
}

test('sync shows one live line on a terminal (images done, in flight, blobs, bytes), and nothing elsewhere', () => {
  assert.equal(syncProgressDisplay(terminal(false), 3), undefined);
  const tty = terminal(true);
  const display = syncProgressDisplay(tty, 3)!;
  const descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'a'.repeat(64)}` as Digest, size: 2048 };
  display.onProgress('docker://r/a:1', { type: 'blob-start', descriptor });
  display.onProgress('docker://r/b:1', { type: 'blob-done', descriptor, bytes: 2048 });
  display.onProgress('docker://r/a:1', { type: 'blob-reused', descriptor });
  const last = tty.text.split('\r\x1b[2K').at(-1);
  assert.equal(last, '[0/3 images] 2 copying, 2 blobs, 2.0 KiB');
  display.onProgress('docker://r/b:1', { type: 'image', manifestDigest: descriptor.digest, blobs: 1 });
  display.clear();
  display.imageDone();
  assert.equal(tty.text.split('\r\x1b[2K').at(-1), '[1/3 images] 1 copying, 2 blobs, 2.0 KiB');
});
