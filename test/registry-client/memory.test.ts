import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { pack } from 'tar-stream';
import { uploadBlob } from '../../registry/client/blobs.js';
import { closeDispatchers } from '../../registry/client/dispatcher.js';
import { RegistryClient } from '../../registry/client/RegistryClient.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import { berthBin, peer, tempDir } from '../support/peers.js';
import { startDockerRegistry } from '../support/dockerRegistry.js';

const FILE_SIZE = 1024 * 1024 * 1024;
const RSS_LIMIT = 120 * 1024 * 1024;

test.after(() => closeDispatchers());

/** A real tar holding one 1 GiB file of pseudo-random bytes, generated as a stream (never in memory). */
function bigTar(): Readable {
  const tar = pack();
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  const entry = tar.entry({ name: 'big.bin', size: FILE_SIZE, mode: 0o644, mtime: new Date(0) }, (err) => {
    if (err) tar.destroy(err);
    else tar.finalize();
  });
  let written = 0;
  const writeMore = (): void => {
    while (written < FILE_SIZE) {
      block.writeUInt32BE(written / block.length, 0);
      written += block.length;
      if (!entry.write(Buffer.from(block))) {
        entry.once('drain', writeMore);
        return;
      }
    }
    entry.end(undefined);
  };
  writeMore();
  return tar as unknown as Readable;
}

async function describe(stream: Readable): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}` as Digest, size };
}

test('copying a 1 GiB layer registry to registry peaks under 120 MB RSS', { timeout: 600_000 }, async (t) => {
  const binary = peer(t, 'docker-registry');
  if (!binary) return;
  const dir = tempDir(t);
  const a = await startDockerRegistry(binary, `${dir}/a`);
  t.after(() => a.stop());
  const b = await startDockerRegistry(binary, `${dir}/b`);
  t.after(() => b.stop());

  const { digest, size } = await describe(bigTar());
  const layer: Descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size };
  const source = new RegistryClient(a.host, { tlsVerify: false });
  await uploadBlob(source, 'big/image', layer, bigTar());
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digest] } }));
  const configDescriptor: Descriptor = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length };
  await uploadBlob(source, 'big/image', configDescriptor, Readable.from([config]));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDescriptor, layers: [layer] }));
  await source.putManifest('big/image', 'v1', manifest, 'application/vnd.oci.image.manifest.v1+json');

  const child = spawn(process.execPath, [berthBin, 'copy', '--quiet', `docker://${a.host}/big/image:v1`, `docker://${b.host}/big/image:v1`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  let peak = 0;
  const sample = (): void => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (match) peak = Math.max(peak, Number(match[1]) * 1024);
    } catch {
      // the process has exited
    }
  };
  const timer = setInterval(sample, 25);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearInterval(timer);
  assert.equal(code, 0, stderr);
  t.diagnostic(`peak RSS of berth copy: ${(peak / 1024 / 1024).toFixed(1)} MiB`);
  assert.ok(peak > 0, 'RSS was sampled');
  assert.ok(peak < RSS_LIMIT, `peak RSS ${(peak / 1024 / 1024).toFixed(1)} MiB must stay under 120 MB`);

  const destination = new RegistryClient(b.host, { tlsVerify: false });
  const head = await destination.headManifest('big/image', 'v1');
  assert.equal(head?.digest, digestOf(manifest));
  const res = await destination.send({ method: 'HEAD', path: `/v2/big/image/blobs/${digest}`, scopes: [], what: 'head' });
  await res.body.dump?.();
  assert.equal(res.statusCode, 200);
  assert.equal(Number(res.headers['content-length']), size);
});
