import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../support/peers.js';
import { imageManifest, pushBlob, sha256, type Fetcher } from './support/conformance.js';
import { errorCodesOf, rawRequest } from './support/rawHttp.js';
import { startBerth, type RegistryTarget } from './support/targets.js';

function fetcher(target: RegistryTarget): Fetcher {
  return (path, init) => fetch(new URL(path, target.url), init as RequestInit);
}

/** Every file under dir, relative, so a test can prove nothing was written outside the storage root. */
function listTree(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listTree(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

async function stillServing(target: RegistryTarget): Promise<void> {
  const res = await fetch(`${target.url}/v2/`);
  await res.arrayBuffer();
  assert.equal(res.status, 200, 'the server still answers /v2/');
}

test('hostile requests are refused and the server keeps serving', async (t) => {
  const work = tempDir(t);
  const root = join(work, 'root');
  const target = await startBerth(root, { maxManifestBytes: 4 * 1024 * 1024 });
  t.after(() => target.close());
  const f = fetcher(target);
  const outsideBefore = readdirSync(work);

  await t.test('path tricks in repository names never reach the filesystem', async () => {
    const paths = [
      '/v2/../../etc/manifests/latest',
      '/v2/%2e%2e/%2e%2e/etc/manifests/latest',
      '/v2/%2E%2E/x/tags/list',
      '/v2//etc/passwd/manifests/latest',
      '/v2/a/../../b/tags/list',
      '/v2/a/..%2f..%2fb/blobs/uploads/',
      '/v2/a/_manifests/tags/list',
      '/v2/a/b/_layers/manifests/latest',
      `/v2/${'a'.repeat(300)}/tags/list`,
    ];
    for (const path of paths) {
      for (const method of ['GET', 'PUT', 'POST', 'DELETE']) {
        const res = await rawRequest(target.url, method, path, method === 'PUT' || method === 'POST' ? '{}' : undefined);
        assert.ok(res.status === 400 || res.status === 404 || res.status === 405, `${method} ${path} → ${res.status}`);
        if (res.status === 400) assert.deepEqual(errorCodesOf(res), ['NAME_INVALID'], `${method} ${path}`);
      }
    }
    assert.deepEqual(readdirSync(work), outsideBefore, 'nothing appeared beside the storage root');
    assert.deepEqual(readdirSync(join(root, 'repositories')), [], 'no repository folder was created');
  });

  await t.test('path tricks in digests and upload ids are refused', async () => {
    const cases: [string, string, number, string][] = [
      ['GET', '/v2/ok/blobs/sha256:..%2f..%2fetc', 400, 'DIGEST_INVALID'],
      ['GET', `/v2/ok/blobs/sha256:${'A'.repeat(64)}`, 400, 'DIGEST_INVALID'],
      ['GET', `/v2/ok/blobs/md5:${'a'.repeat(32)}`, 400, 'DIGEST_INVALID'],
      ['GET', '/v2/ok/blobs/uploads/..%2f..%2fdata', 404, 'BLOB_UPLOAD_UNKNOWN'],
      ['PATCH', '/v2/ok/blobs/uploads/00000000-0000-0000-0000-000000000000', 404, 'BLOB_UPLOAD_UNKNOWN'],
      ['GET', '/v2/ok/manifests/..', 404, 'MANIFEST_UNKNOWN'],
      ['PUT', '/v2/ok/manifests/..', 400, 'MANIFEST_INVALID'],
      ['GET', '/v2/ok/referrers/sha256:nothex', 400, 'DIGEST_INVALID'],
    ];
    for (const [method, path, status, code] of cases) {
      const res = await rawRequest(target.url, method, path, method === 'PUT' ? '{}' : undefined);
      assert.equal(res.status, status, `${method} ${path}`);
      assert.deepEqual(errorCodesOf(res), [code], `${method} ${path}`);
    }
  });

  await t.test('an upload session cannot be finished from another repository', async () => {
    const post = await f('/v2/owner/blobs/uploads/', { method: 'POST' });
    const id = post.headers.get('docker-upload-uuid');
    const res = await f(`/v2/intruder/blobs/uploads/${id}?digest=${sha256('')}`, { method: 'PUT' });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]?.code, 'BLOB_UPLOAD_UNKNOWN');
  });

  await t.test('content that does not match its digest is never stored', async () => {
    const data = randomBytes(50_000);
    const wrong = sha256('not the data');
    const mono = await f(`/v2/lying/blobs/uploads/?digest=${wrong}`, { method: 'POST', body: data });
    assert.equal(mono.status, 400);
    assert.equal(((await mono.json()) as { errors: { code: string }[] }).errors[0]?.code, 'DIGEST_INVALID');
    const head = await f(`/v2/lying/blobs/${wrong}`, { method: 'HEAD' });
    assert.equal(head.status, 404);
    const blobs = listTree(join(root, 'blobs'));
    assert.ok(!blobs.some((p) => p.endsWith(wrong.slice(7))), 'the lying digest has no blob file');
    assert.deepEqual(readdirSync(join(root, 'tmp')), [], 'the temp file was removed');
  });

  await t.test('a body longer than its declared size is refused', async () => {
    const data = randomBytes(1000);
    const res = await rawRequest(target.url, 'POST', `/v2/lying/blobs/uploads/?digest=${sha256(data)}`, data, { 'Content-Length': '1000' });
    assert.equal(res.status, 201, 'the honest request works');
    const wrongLength = await f(`/v2/lying/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: Buffer.concat([data, data]) });
    assert.equal(wrongLength.status, 400);
  });

  await t.test('oversize manifests are refused before parsing', async () => {
    const huge = Buffer.alloc(5 * 1024 * 1024, 0x20);
    const res = await f('/v2/big/manifests/latest', { method: 'PUT', body: huge, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]?.code, 'SIZE_INVALID');
    await stillServing(target);
  });

  await t.test('manifests that reference missing blobs or lie about sizes are refused', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    await pushBlob(f, 'refs', config);
    const missing = await f('/v2/refs/manifests/x', { method: 'PUT', body: imageManifest(config, [randomBytes(64)]), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(missing.status, 400);
    assert.equal(((await missing.json()) as { errors: { code: string }[] }).errors[0]?.code, 'MANIFEST_BLOB_UNKNOWN');
    const lying = JSON.parse(imageManifest(config, []).toString()) as { config: { size: number } };
    lying.config.size = 5;
    const wrongSize = await f('/v2/refs/manifests/x', { method: 'PUT', body: JSON.stringify(lying), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(wrongSize.status, 400);
    const notJson = await f('/v2/refs/manifests/x', { method: 'PUT', body: '{"schemaVersion":2,', headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(notJson.status, 400);
    const schema1 = await f('/v2/refs/manifests/x', { method: 'PUT', body: '{"schemaVersion":1,"name":"refs","tag":"x","fsLayers":[]}', headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' } });
    assert.equal(schema1.status, 400);
    const index = await f('/v2/refs/manifests/idx', {
      method: 'PUT',
      body: JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256('none'), size: 3 }] }),
      headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' },
    });
    assert.equal(index.status, 400);
    const tags = await f('/v2/refs/tags/list');
    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, [], 'no refused manifest left a tag behind');
  });

  await t.test('concurrent pushes of the same blob and manifest all succeed and store it once', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const digest = sha256(data);
    const monolithic = Array.from({ length: 4 }, () => f(`/v2/race/blobs/uploads/?digest=${digest}`, { method: 'POST', body: data }).then(async (r) => (await r.arrayBuffer(), r.status)));
    const chunked = Array.from({ length: 4 }, async () => {
      const post = await f('/v2/race/blobs/uploads/', { method: 'POST' });
      const patch = await f(new URL(post.headers.get('location')!, target.url).toString(), { method: 'PATCH', body: data });
      const url = new URL(patch.headers.get('location')!, target.url);
      url.searchParams.set('digest', digest);
      const put = await f(url.toString(), { method: 'PUT' });
      await put.arrayBuffer();
      return put.status;
    });
    assert.deepEqual(await Promise.all([...monolithic, ...chunked]), Array(8).fill(201));
    const back = await f(`/v2/race/blobs/${digest}`);
    assert.equal(sha256(Buffer.from(await back.arrayBuffer())), digest);
    assert.equal(listTree(join(root, 'blobs')).filter((p) => p.endsWith(digest.slice(7))).length, 1);

    const config = Buffer.from('{"os":"linux","architecture":"amd64"}');
    await pushBlob(f, 'race', config);
    const manifest = imageManifest(config, [data]);
    const puts = await Promise.all(Array.from({ length: 6 }, (_, i) => f(`/v2/race/manifests/${i % 2 ? 'latest' : sha256(manifest)}`, { method: 'PUT', body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } })));
    assert.deepEqual(puts.map((r) => r.status), Array(6).fill(201));
    const get = await f('/v2/race/manifests/latest');
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), manifest);
    assert.equal(readFileSync(join(root, 'repositories', 'race', '_manifests', 'tags', 'latest'), 'utf8'), sha256(manifest));
  });

  await t.test('a client that disconnects mid-upload leaves a resumable session, not a blob', async () => {
    const post = await f('/v2/aborted/blobs/uploads/', { method: 'POST' });
    const location = new URL(post.headers.get('location')!, target.url);
    const first = randomBytes(256 * 1024);
    await new Promise<void>((resolve) => {
      const req = request({ host: location.hostname, port: location.port, method: 'PATCH', path: location.pathname + location.search, headers: { 'Content-Length': String(first.length * 4) } });
      req.on('error', () => resolve());
      req.write(first, () => setTimeout(() => {
        req.destroy();
        resolve();
      }, 100));
    });
    await sleep(100);
    const status = await f(location.toString());
    assert.equal(status.status, 204);
    const received = Number(status.headers.get('range')?.split('-')[1]) + 1;
    assert.equal(received, first.length, 'the bytes that arrived are kept');
    const rest = randomBytes(1000);
    const patch = await f(location.toString(), { method: 'PATCH', body: rest, headers: { 'Content-Range': `${received}-${received + rest.length - 1}` } });
    assert.equal(patch.status, 202);
    const url = new URL(patch.headers.get('location')!, target.url);
    url.searchParams.set('digest', sha256(Buffer.concat([first, rest])));
    const put = await f(url.toString(), { method: 'PUT' });
    assert.equal(put.status, 201, 'the resumed upload verifies (the digest is recomputed after the cut)');
    await stillServing(target);
  });

  await t.test('unsupported methods and unknown endpoints get spec errors', async () => {
    for (const [method, path, status] of [
      ['POST', '/v2/x/manifests/latest', 405],
      ['PATCH', '/v2/x/tags/list', 405],
      ['GET', '/v3/', 404],
      ['GET', '/token', 404],
    ] as const) {
      const res = await rawRequest(target.url, method, path);
      assert.equal(res.status, status, `${method} ${path}`);
      assert.ok(errorCodesOf(res).length > 0, `${method} ${path} has an error body`);
    }
    await stillServing(target);
  });
});

test('upload limits: OCI-Chunk-Min-Length is advertised and enforced, --max-upload-bytes refuses big blobs', async (t) => {
  const target = await startBerth(join(tempDir(t), 'root'), { chunkMinLength: 1024, maxUploadBytes: 4096 });
  t.after(() => target.close());
  const f = fetcher(target);
  const post = await f('/v2/limits/blobs/uploads/', { method: 'POST' });
  assert.equal(post.headers.get('oci-chunk-min-length'), '1024');
  const location = new URL(post.headers.get('location')!, target.url).toString();
  const tiny = await f(location, { method: 'PATCH', body: randomBytes(100), headers: { 'Content-Range': '0-99' } });
  assert.equal(tiny.status, 416, 'a non-final chunk below the minimum is refused');
  assert.equal(tiny.headers.get('range'), '0-0');
  const first = randomBytes(2048);
  const ok = await f(location, { method: 'PATCH', body: first, headers: { 'Content-Range': '0-2047' } });
  assert.equal(ok.status, 202);
  const last = randomBytes(10);
  const url = new URL(ok.headers.get('location')!, target.url);
  url.searchParams.set('digest', sha256(Buffer.concat([first, last])));
  const put = await f(url.toString(), { method: 'PUT', body: last, headers: { 'Content-Range': '2048-2057' } });
  assert.equal(put.status, 201, 'the final chunk may be smaller');

  const big = randomBytes(5000);
  const mono = await f(`/v2/limits/blobs/uploads/?digest=${sha256(big)}`, { method: 'POST', body: big });
  assert.equal(mono.status, 413);
  assert.equal(((await mono.json()) as { errors: { code: string }[] }).errors[0]?.code, 'SIZE_INVALID');
  const session = await f('/v2/limits/blobs/uploads/', { method: 'POST' });
  const streamed = await f(new URL(session.headers.get('location')!, target.url).toString(), { method: 'PATCH', body: big });
  assert.equal(streamed.status, 413);
  assert.equal((await f(`/v2/limits/blobs/${sha256(big)}`, { method: 'HEAD' })).status, 404);
  await stillServing(target);
});
