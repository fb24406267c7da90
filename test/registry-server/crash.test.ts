import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { berthBin, tempDir, which } from '../support/peers.js';
import { pushImage, sha256, type Fetcher } from './support/conformance.js';
import { buildRandomLayout } from '../support/ociImage.js';
import { startBerthProcess } from './support/targets.js';

const run = promisify(execFile);

/** Start a request whose body trickles in; resolves once `sent` bytes were written, leaving it open. */
function trickle(url: string, method: string, path: string, total: number, sent: Buffer): Promise<void> {
  const base = new URL(url);
  return new Promise((resolve) => {
    const req = request({ host: base.hostname, port: base.port, method, path, headers: { 'Content-Length': String(total) } });
    req.on('error', () => undefined);
    req.write(sent, () => resolve());
  });
}

function everyBlobMatchesItsName(root: string): number {
  let checked = 0;
  const base = join(root, 'blobs', 'sha256');
  for (const prefix of readdirSync(base)) {
    for (const hex of readdirSync(join(base, prefix))) {
      const actual = createHash('sha256').update(readFileSync(join(base, prefix, hex))).digest('hex');
      assert.equal(actual, hex, `blob ${hex} holds the bytes its name promises`);
      checked++;
    }
  }
  return checked;
}

test('kill -9 of berth registry serve during uploads: no corrupt blob served after restart, gc passes', async (t) => {
  const work = tempDir(t);
  const root = join(work, 'root');
  let server = await startBerthProcess(berthBin, root);
  t.after(() => server.close());
  const f: Fetcher = (path, init) => fetch(new URL(path, server.url), init as RequestInit);

  const complete = await pushImage(f, 'crash/app', 'v1');

  // Three uploads in flight at the moment of the kill.
  const monolithic = randomBytes(6 << 20);
  await trickle(server.url, 'POST', `/v2/crash/app/blobs/uploads/?digest=${sha256(monolithic)}`, monolithic.length, monolithic.subarray(0, 2 << 20));
  const streamed = randomBytes(6 << 20);
  const post = await f('/v2/crash/app/blobs/uploads/', { method: 'POST' });
  await trickle(server.url, 'PATCH', post.headers.get('location')!, streamed.length, streamed.subarray(0, 2 << 20));
  const chunked = randomBytes(3 << 20);
  const post2 = await f('/v2/crash/app/blobs/uploads/', { method: 'POST' });
  const firstChunk = await f(post2.headers.get('location')!, { method: 'PATCH', body: chunked.subarray(0, 1 << 20), headers: { 'Content-Range': `0-${(1 << 20) - 1}` } });
  assert.equal(firstChunk.status, 202);
  const resumeAt = firstChunk.headers.get('location')!;
  await trickle(server.url, 'PATCH', resumeAt, 1 << 20, chunked.subarray(1 << 20, (3 << 19)));

  // And a real client mid-push.
  const skopeo = which('skopeo');
  let skopeoExit: Promise<number | null> | undefined;
  const layout = await buildRandomLayout(join(work, 'layout'), 'v1', [{ 'x.bin': 8 << 20 }]);
  if (skopeo) {
    const child = spawn(skopeo, ['copy', '--retry-times', '0', '--dest-tls-verify=false', `oci:${layout.dir}:v1`, `docker://${server.host}/crash/skopeo:v1`], { stdio: 'ignore' });
    skopeoExit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await sleep(150);
  }
  await sleep(200);

  const port = Number(new URL(server.url).port);
  const killed = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGKILL');
  await killed;
  if (skopeoExit) await skopeoExit;

  server = await startBerthProcess(berthBin, root, [], port);
  for (const digest of [sha256(monolithic), sha256(streamed), sha256(chunked)]) {
    const head = await f(`/v2/crash/app/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(head.status, 404, 'an interrupted upload never became a blob');
  }
  const manifest = await f('/v2/crash/app/manifests/v1');
  assert.deepEqual(Buffer.from(await manifest.arrayBuffer()), complete.manifest, 'the image pushed before the kill is intact');
  const layer = await f(`/v2/crash/app/blobs/${complete.layerDigest}`);
  assert.equal(sha256(Buffer.from(await layer.arrayBuffer())), complete.layerDigest);

  // The chunked session survived the restart: its status is known and it can be finished.
  const status = await f(resumeAt);
  assert.equal(status.status, 204);
  const have = Number(status.headers.get('range')!.split('-')[1]) + 1;
  assert.ok(have >= 1 << 20 && have <= chunked.length, `session kept ${have} bytes`);
  const rest = chunked.subarray(have);
  const finishUrl = new URL(resumeAt, server.url);
  finishUrl.searchParams.set('digest', sha256(chunked));
  const finished = await f(finishUrl.toString(), { method: 'PUT', body: rest, headers: { 'Content-Range': `${have}-${chunked.length - 1}` } });
  assert.equal(finished.status, 201, 'the resumed upload is verified against the whole content');

  if (skopeo) {
    await run(skopeo, ['copy', '--dest-tls-verify=false', `oci:${layout.dir}:v1`, `docker://${server.host}/crash/skopeo:v1`]);
    const pushed = await f('/v2/crash/skopeo/manifests/v1', { method: 'HEAD' });
    assert.equal(pushed.headers.get('docker-content-digest'), layout.manifest.digest, 'a push retried after the crash completes');
  }
  assert.ok(everyBlobMatchesItsName(root) >= 3);
  await server.close();

  const gc = await run(process.execPath, [berthBin, 'registry', 'gc', '--root', root, '--grace', '0', '--upload-max-age', '0', '--verify', '--format', 'json']);
  const report = JSON.parse(gc.stdout) as { corruptBlobs: string[]; brokenManifests: string[]; uploadsRemoved: number; tempFilesRemoved: number; blobsRemoved: number };
  assert.deepEqual(report.corruptBlobs, []);
  assert.deepEqual(report.brokenManifests, []);
  assert.ok(report.uploadsRemoved >= 1, 'the abandoned upload session is cleaned up');
  assert.ok(report.tempFilesRemoved >= 1, 'the half-written monolithic upload is cleaned up');
  assert.ok(report.blobsRemoved >= 1, 'the finished-but-unreferenced blob is collected');

  server = await startBerthProcess(berthBin, root, [], port);
  const again = await f('/v2/crash/app/manifests/v1');
  assert.deepEqual(Buffer.from(await again.arrayBuffer()), complete.manifest, 'gc kept everything a manifest references');
  const config = await f(`/v2/crash/app/blobs/${complete.configDigest}`);
  assert.deepEqual(Buffer.from(await config.arrayBuffer()), complete.config);
  const second = await run(process.execPath, [berthBin, 'registry', 'gc', '--root', root, '--grace', '0', '--verify', '--format', 'json']);
  assert.equal((JSON.parse(second.stdout) as { blobsRemoved: number }).blobsRemoved, 0, 'a second gc finds nothing more to remove');
});
