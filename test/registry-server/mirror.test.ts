import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { startRegistryServer } from '../../registry/server/index.js';
import { isBerthError } from '../../src/errors/BerthError.js';
import { tempDir, which } from '../support/peers.js';
import { pushImage, sha256, type Fetcher } from './support/conformance.js';
import { startBerth } from './support/targets.js';

const run = promisify(execFile);

test('pull-through mirror: fetches from an authenticated upstream, verifies, caches, refreshes tags, survives the upstream going away', async (t) => {
  const work = tempDir(t);
  const htpasswd = join(work, 'htpasswd');
  writeFileSync(htpasswd, `alice:${bcrypt.hashSync('pw', 4)}\n`);
  const upstream = await startBerth(join(work, 'upstream'), { auth: { mode: 'htpasswd', file: htpasswd } });
  let upstreamOpen = true;
  t.after(async () => {
    if (upstreamOpen) await upstream.close();
  });
  const auth = `Basic ${Buffer.from('alice:pw').toString('base64')}`;
  const up: Fetcher = (path, init) => fetch(new URL(path, upstream.url), { ...(init as RequestInit), headers: { ...(init?.headers as Record<string, string>), Authorization: auth } });
  const first = await pushImage(up, 'lib/app', 'v1');

  const mirror = await startBerth(join(work, 'mirror'), { proxy: { remote: upstream.url, creds: 'alice:pw' } });
  t.after(() => mirror.close());
  const m: Fetcher = (path, init) => fetch(new URL(path, mirror.url), init as RequestInit);

  const manifest = await m('/v2/lib/app/manifests/v1');
  assert.equal(manifest.status, 200);
  assert.equal(manifest.headers.get('docker-content-digest'), first.manifestDigest);
  assert.deepEqual(Buffer.from(await manifest.arrayBuffer()), first.manifest);
  const [a, b] = await Promise.all([m(`/v2/lib/app/blobs/${first.layerDigest}`), m(`/v2/lib/app/blobs/${first.layerDigest}`)]);
  assert.deepEqual(Buffer.from(await a.arrayBuffer()), first.layer, 'the blob comes through the mirror');
  assert.deepEqual(Buffer.from(await b.arrayBuffer()), first.layer, 'a concurrent request for it shares the fetch');
  assert.deepEqual(((await (await m('/v2/lib/app/tags/list')).json()) as { tags: string[] }).tags, ['v1']);

  const push = await m('/v2/lib/app/blobs/uploads/', { method: 'POST' });
  assert.equal(push.status, 405, 'a mirror refuses pushes');
  const del = await m(`/v2/lib/app/manifests/${first.manifestDigest}`, { method: 'DELETE' });
  assert.equal(del.status, 405, 'and deletes');

  const skopeo = which('skopeo');
  if (skopeo) {
    await run(skopeo, ['copy', '--src-tls-verify=false', `docker://${mirror.host}/lib/app:v1`, `oci:${join(work, 'pulled')}:v1`]);
  }

  const second = await pushImage(up, 'lib/app', 'v1');
  const refreshed = await m('/v2/lib/app/manifests/v1');
  assert.equal(refreshed.headers.get('docker-content-digest'), second.manifestDigest, 'tags are re-resolved upstream');
  await (await m(`/v2/lib/app/blobs/${second.configDigest}`)).arrayBuffer();
  assert.equal((await m('/v2/lib/app/manifests/nope')).status, 404);

  await upstream.close();
  upstreamOpen = false;
  const cachedTag = await m('/v2/lib/app/manifests/v1');
  assert.equal(cachedTag.status, 200, 'with the upstream gone the cached tag is served');
  assert.equal(cachedTag.headers.get('docker-content-digest'), second.manifestDigest);
  const cachedOld = await m(`/v2/lib/app/manifests/${first.manifestDigest}`);
  assert.deepEqual(Buffer.from(await cachedOld.arrayBuffer()), first.manifest);
  const cachedBlob = await m(`/v2/lib/app/blobs/${second.configDigest}`);
  assert.equal(sha256(Buffer.from(await cachedBlob.arrayBuffer())), second.configDigest);
  assert.equal((await m(`/v2/lib/app/blobs/${second.layerDigest}`)).status, 404, 'what was never fetched is simply unknown');
  assert.equal((await m('/v2/')).status, 200);
});

test('pull-through mirror: wrong upstream credentials mean nothing is served, and a bad URL is refused at start', async (t) => {
  const work = tempDir(t);
  const htpasswd = join(work, 'htpasswd');
  writeFileSync(htpasswd, `alice:${bcrypt.hashSync('pw', 4)}\n`);
  const upstream = await startBerth(join(work, 'upstream'), { auth: { mode: 'htpasswd', file: htpasswd } });
  t.after(() => upstream.close());
  const up: Fetcher = (path, init) => fetch(new URL(path, upstream.url), { ...(init as RequestInit), headers: { ...(init?.headers as Record<string, string>), Authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` } });
  await pushImage(up, 'lib/app', 'v1');
  const mirror = await startBerth(join(work, 'mirror'), { proxy: { remote: upstream.url, creds: 'alice:wrong' } });
  t.after(() => mirror.close());
  assert.equal((await fetch(`${mirror.url}/v2/lib/app/manifests/v1`)).status, 404);

  await assert.rejects(startRegistryServer({ root: join(work, 'x'), proxy: { remote: 'ftp://example/' } }), (err) => isBerthError(err, 'USAGE'));
});
