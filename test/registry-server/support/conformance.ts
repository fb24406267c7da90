import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RegistryTarget } from './targets.js';

/**
 * berth's own conformance suite, written from the OCI distribution-spec v1.1
 * (pull, push, content discovery, content management). The same cases run
 * against berth's server and against docker-registry; a case the peer is
 * known to answer differently is skipped there with the reason, so the
 * differences stay visible in the test report rather than hidden.
 */
export type CaseId =
  | 'pull.base' | 'pull.manifest-by-tag' | 'pull.manifest-by-digest' | 'pull.head-manifest' | 'pull.blob' | 'pull.head-blob'
  | 'pull.blob-range' | 'pull.blob-range-unsatisfiable' | 'pull.unknown-manifest' | 'pull.unknown-blob' | 'pull.unknown-blob-head'
  | 'push.monolithic-post' | 'push.post-put' | 'push.streamed' | 'push.chunked' | 'push.chunk-out-of-order' | 'push.upload-status'
  | 'push.cancel' | 'push.digest-mismatch' | 'push.mount' | 'push.mount-missing' | 'push.manifest-by-tag' | 'push.manifest-by-digest'
  | 'push.manifest-digest-mismatch' | 'push.manifest-missing-blob' | 'push.manifest-invalid' | 'push.docker-schema2' | 'push.manifest-list'
  | 'push.subject' | 'push.invalid-name'
  | 'discovery.tags' | 'discovery.tags-pagination' | 'discovery.tags-last' | 'discovery.tags-unknown-repo' | 'discovery.catalog'
  | 'discovery.referrers' | 'discovery.referrers-filter' | 'discovery.referrers-empty'
  | 'management.delete-manifest' | 'management.delete-tag' | 'management.delete-blob' | 'management.delete-unknown' | 'management.delete-referrer';

type FetchInit = Omit<RequestInit, 'body'> & { body?: Buffer | string };
export type Fetcher = (path: string, init?: FetchInit) => Promise<Response>;

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function errorCodes(res: Response): Promise<string[]> {
  const body = (await res.json()) as { errors?: { code: string }[] };
  assert.ok(Array.isArray(body.errors), 'error responses carry an "errors" list');
  return body.errors.map((e) => e.code);
}

/** Push a blob monolithically (POST ?digest=), the simplest spec path; returns its digest. */
export async function pushBlob(f: Fetcher, repo: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const res = await f(`/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
  await res.arrayBuffer();
  if (res.status === 202) {
    // A registry may ignore the monolithic POST and open a session instead (the spec allows it).
    const url = new URL(res.headers.get('location') ?? '', res.url);
    url.searchParams.set('digest', digest);
    const put = await f(url.toString(), { method: 'PUT', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
    await put.arrayBuffer();
    assert.equal(put.status, 201);
  } else {
    assert.equal(res.status, 201, `pushing a blob to ${repo}`);
  }
  return digest;
}

export interface PushedImage {
  manifest: Buffer;
  manifestDigest: string;
  config: Buffer;
  configDigest: string;
  layer: Buffer;
  layerDigest: string;
}

export function imageManifest(config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}, configType = 'application/vnd.oci.image.config.v1+json'): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: configType, digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(l), size: l.length })),
    ...extra,
  }));
}

export async function pushImage(f: Fetcher, repo: string, tag: string | undefined, extra: Record<string, unknown> = {}, configType?: string): Promise<PushedImage> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }));
  const layer = randomBytes(3000);
  await pushBlob(f, repo, config);
  await pushBlob(f, repo, layer);
  const manifest = imageManifest(config, [layer], extra, configType);
  const manifestDigest = sha256(manifest);
  const res = await f(`/v2/${repo}/manifests/${tag ?? manifestDigest}`, { method: 'PUT', body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
  await res.arrayBuffer();
  assert.equal(res.status, 201, `pushing a manifest to ${repo}`);
  return { manifest, manifestDigest, config, configDigest: sha256(config), layer, layerDigest: sha256(layer) };
}

function nextLink(res: Response): string | undefined {
  const link = res.headers.get('link');
  if (!link) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  assert.ok(m, `Link header "${link}" names the next page`);
  return m[1];
}

export function defineConformanceSuite(label: string, start: () => Promise<RegistryTarget>, differences: Partial<Record<CaseId, string>>): void {
  describe(`distribution-spec conformance: ${label}`, () => {
    let target: RegistryTarget;
    const f: Fetcher = (path, init) => fetch(new URL(path, target.url), { redirect: 'follow', ...(init as RequestInit) });
    let image: PushedImage;

    before(async () => {
      target = await start();
      image = await pushImage(f, 'conformance/pull', 'v1');
    });
    after(async () => {
      await target?.close();
    });

    const check = (id: CaseId, fn: () => Promise<void>): void => {
      const reason = differences[id];
      it(id, reason ? { skip: `${label} differs: ${reason}` } : {}, fn);
    };

    // ---- pull ----
    check('pull.base', async () => {
      const res = await f('/v2/');
      await res.arrayBuffer();
      assert.equal(res.status, 200);
    });
    check('pull.manifest-by-tag', async () => {
      const res = await f('/v2/conformance/pull/manifests/v1', { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('docker-content-digest'), image.manifestDigest);
      assert.equal(res.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json');
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), image.manifest);
    });
    check('pull.manifest-by-digest', async () => {
      const res = await f(`/v2/conformance/pull/manifests/${image.manifestDigest}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), image.manifest);
    });
    check('pull.head-manifest', async () => {
      for (const ref of ['v1', image.manifestDigest]) {
        const res = await f(`/v2/conformance/pull/manifests/${ref}`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('docker-content-digest'), image.manifestDigest);
        assert.equal(Number(res.headers.get('content-length')), image.manifest.length);
        assert.equal((await res.arrayBuffer()).byteLength, 0);
      }
    });
    check('pull.blob', async () => {
      const res = await f(`/v2/conformance/pull/blobs/${image.layerDigest}`);
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), image.layer);
    });
    check('pull.head-blob', async () => {
      const res = await f(`/v2/conformance/pull/blobs/${image.layerDigest}`, { method: 'HEAD' });
      assert.equal(res.status, 200);
      assert.equal(Number(res.headers.get('content-length')), image.layer.length);
      assert.equal(res.headers.get('docker-content-digest'), image.layerDigest);
    });
    check('pull.blob-range', async () => {
      const res = await f(`/v2/conformance/pull/blobs/${image.layerDigest}`, { headers: { Range: 'bytes=100-199' } });
      assert.equal(res.status, 206);
      assert.equal(res.headers.get('content-range'), `bytes 100-199/${image.layer.length}`);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), image.layer.subarray(100, 200));
    });
    check('pull.blob-range-unsatisfiable', async () => {
      const res = await f(`/v2/conformance/pull/blobs/${image.layerDigest}`, { headers: { Range: `bytes=${image.layer.length + 10}-` } });
      await res.arrayBuffer();
      assert.equal(res.status, 416);
    });
    check('pull.unknown-manifest', async () => {
      const res = await f('/v2/conformance/pull/manifests/no-such-tag');
      assert.equal(res.status, 404);
      assert.ok((await errorCodes(res)).includes('MANIFEST_UNKNOWN'));
    });
    check('pull.unknown-blob', async () => {
      const res = await f(`/v2/conformance/pull/blobs/${sha256('nothing here')}`);
      assert.equal(res.status, 404);
      assert.ok((await errorCodes(res)).includes('BLOB_UNKNOWN'));
    });
    check('pull.unknown-blob-head', async () => {
      const res = await f(`/v2/conformance/pull/blobs/${sha256('nothing here')}`, { method: 'HEAD' });
      await res.arrayBuffer();
      assert.equal(res.status, 404);
    });

    // ---- push ----
    check('push.monolithic-post', async () => {
      const data = randomBytes(1234);
      const res = await f(`/v2/conformance/push-mono/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
      await res.arrayBuffer();
      assert.equal(res.status, 201);
      assert.ok(res.headers.get('location'));
      const back = await f(`/v2/conformance/push-mono/blobs/${sha256(data)}`);
      assert.deepEqual(Buffer.from(await back.arrayBuffer()), data);
    });
    check('push.post-put', async () => {
      const data = randomBytes(999);
      const post = await f('/v2/conformance/push-postput/blobs/uploads/', { method: 'POST' });
      await post.arrayBuffer();
      assert.equal(post.status, 202);
      const location = post.headers.get('location');
      assert.ok(location);
      const url = new URL(location, target.url);
      url.searchParams.set('digest', sha256(data));
      const put = await f(url.toString(), { method: 'PUT', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
      await put.arrayBuffer();
      assert.equal(put.status, 201);
      assert.equal(put.headers.get('docker-content-digest'), sha256(data));
    });
    check('push.streamed', async () => {
      const data = randomBytes(200_000);
      const post = await f('/v2/conformance/push-stream/blobs/uploads/', { method: 'POST' });
      await post.arrayBuffer();
      const patch = await f(new URL(post.headers.get('location')!, target.url).toString(), { method: 'PATCH', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
      await patch.arrayBuffer();
      assert.equal(patch.status, 202);
      assert.equal(patch.headers.get('range'), `0-${data.length - 1}`);
      const url = new URL(patch.headers.get('location')!, target.url);
      url.searchParams.set('digest', sha256(data));
      const put = await f(url.toString(), { method: 'PUT' });
      await put.arrayBuffer();
      assert.equal(put.status, 201);
      const head = await f(`/v2/conformance/push-stream/blobs/${sha256(data)}`, { method: 'HEAD' });
      assert.equal(Number(head.headers.get('content-length')), data.length);
    });
    check('push.chunked', async () => {
      const data = randomBytes(30_000);
      const post = await f('/v2/conformance/push-chunked/blobs/uploads/', { method: 'POST' });
      await post.arrayBuffer();
      assert.equal(post.status, 202);
      const min = Number(post.headers.get('oci-chunk-min-length') ?? '0');
      const chunk = Math.max(min, 10_000);
      let location = post.headers.get('location')!;
      let offset = 0;
      while (offset + chunk < data.length) {
        const part = data.subarray(offset, offset + chunk);
        const res = await f(new URL(location, target.url).toString(), {
          method: 'PATCH',
          body: part,
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + part.length - 1}` },
        });
        await res.arrayBuffer();
        assert.equal(res.status, 202);
        assert.equal(res.headers.get('range'), `0-${offset + part.length - 1}`);
        location = res.headers.get('location')!;
        offset += part.length;
      }
      const last = data.subarray(offset);
      const url = new URL(location, target.url);
      url.searchParams.set('digest', sha256(data));
      const put = await f(url.toString(), {
        method: 'PUT',
        body: last,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${data.length - 1}` },
      });
      await put.arrayBuffer();
      assert.equal(put.status, 201);
      const back = await f(`/v2/conformance/push-chunked/blobs/${sha256(data)}`);
      assert.deepEqual(Buffer.from(await back.arrayBuffer()), data);
    });
    check('push.chunk-out-of-order', async () => {
      const post = await f('/v2/conformance/push-order/blobs/uploads/', { method: 'POST' });
      await post.arrayBuffer();
      const first = randomBytes(5000);
      const res1 = await f(new URL(post.headers.get('location')!, target.url).toString(), {
        method: 'PATCH',
        body: first,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `0-${first.length - 1}` },
      });
      await res1.arrayBuffer();
      assert.equal(res1.status, 202);
      const res2 = await f(new URL(res1.headers.get('location')!, target.url).toString(), {
        method: 'PATCH',
        body: first,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `9000-${9000 + first.length - 1}` },
      });
      await res2.arrayBuffer();
      assert.equal(res2.status, 416);
    });
    check('push.upload-status', async () => {
      const post = await f('/v2/conformance/push-status/blobs/uploads/', { method: 'POST' });
      await post.arrayBuffer();
      const data = randomBytes(4096);
      const patch = await f(new URL(post.headers.get('location')!, target.url).toString(), { method: 'PATCH', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
      await patch.arrayBuffer();
      const status = await f(new URL(patch.headers.get('location')!, target.url).toString());
      await status.arrayBuffer();
      assert.equal(status.status, 204);
      assert.equal(status.headers.get('range'), `0-${data.length - 1}`);
      assert.ok(status.headers.get('location'));
    });
    check('push.cancel', async () => {
      const post = await f('/v2/conformance/push-cancel/blobs/uploads/', { method: 'POST' });
      await post.arrayBuffer();
      const location = new URL(post.headers.get('location')!, target.url).toString();
      const del = await f(location, { method: 'DELETE' });
      await del.arrayBuffer();
      assert.equal(del.status, 204);
      const status = await f(location);
      assert.equal(status.status, 404);
      assert.ok((await errorCodes(status)).includes('BLOB_UPLOAD_UNKNOWN'));
    });
    check('push.digest-mismatch', async () => {
      const data = randomBytes(2048);
      const post = await f('/v2/conformance/push-mismatch/blobs/uploads/', { method: 'POST' });
      await post.arrayBuffer();
      const url = new URL(post.headers.get('location')!, target.url);
      url.searchParams.set('digest', sha256('something else'));
      const put = await f(url.toString(), { method: 'PUT', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
      assert.equal(put.status, 400);
      assert.ok((await errorCodes(put)).includes('DIGEST_INVALID'));
      const head = await f(`/v2/conformance/push-mismatch/blobs/${sha256('something else')}`, { method: 'HEAD' });
      assert.equal(head.status, 404);
    });
    check('push.mount', async () => {
      const res = await f(`/v2/conformance/push-mount/blobs/uploads/?mount=${image.layerDigest}&from=conformance/pull`, { method: 'POST' });
      await res.arrayBuffer();
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('docker-content-digest'), image.layerDigest);
      const head = await f(`/v2/conformance/push-mount/blobs/${image.layerDigest}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
    });
    check('push.mount-missing', async () => {
      const res = await f(`/v2/conformance/push-mount2/blobs/uploads/?mount=${sha256('absent')}&from=conformance/pull`, { method: 'POST' });
      await res.arrayBuffer();
      assert.equal(res.status, 202, 'a mount that cannot be done falls back to a new upload session');
      assert.ok(res.headers.get('location'));
    });
    check('push.manifest-by-tag', async () => {
      const pushed = await pushImage(f, 'conformance/push-manifest', 'tagged');
      const res = await f('/v2/conformance/push-manifest/manifests/tagged', { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(res.headers.get('docker-content-digest'), pushed.manifestDigest);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), pushed.manifest);
    });
    check('push.manifest-by-digest', async () => {
      const pushed = await pushImage(f, 'conformance/push-bydigest', undefined);
      const res = await f(`/v2/conformance/push-bydigest/manifests/${pushed.manifestDigest}`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(res.status, 200);
    });
    check('push.manifest-digest-mismatch', async () => {
      const manifest = imageManifest(image.config, [image.layer]);
      const res = await f(`/v2/conformance/pull/manifests/${sha256('other')}`, { method: 'PUT', body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(res.status, 400);
      assert.ok((await errorCodes(res)).includes('DIGEST_INVALID'));
    });
    check('push.manifest-missing-blob', async () => {
      const manifest = imageManifest(image.config, [randomBytes(10)]);
      const res = await f('/v2/conformance/pull/manifests/missing', { method: 'PUT', body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(res.status, 400);
      assert.ok((await errorCodes(res)).includes('MANIFEST_BLOB_UNKNOWN'));
    });
    check('push.manifest-invalid', async () => {
      const res = await f('/v2/conformance/pull/manifests/broken', { method: 'PUT', body: '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": 7}', headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(res.status, 400);
      assert.ok((await errorCodes(res)).includes('MANIFEST_INVALID'));
    });
    check('push.docker-schema2', async () => {
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
      const layer = randomBytes(500);
      await pushBlob(f, 'conformance/docker', config);
      await pushBlob(f, 'conformance/docker', layer);
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: sha256(layer), size: layer.length }],
      }));
      const put = await f('/v2/conformance/docker/manifests/s2', { method: 'PUT', body: manifest, headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' } });
      await put.arrayBuffer();
      assert.equal(put.status, 201);
      const get = await f('/v2/conformance/docker/manifests/s2', { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
      assert.equal(get.headers.get('content-type'), 'application/vnd.docker.distribution.manifest.v2+json');
      assert.deepEqual(Buffer.from(await get.arrayBuffer()), manifest);
    });
    check('push.manifest-list', async () => {
      const index = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
        manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.manifestDigest, size: image.manifest.length, platform: { os: 'linux', architecture: 'amd64' } }],
      }));
      const put = await f('/v2/conformance/pull/manifests/list', { method: 'PUT', body: index, headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.list.v2+json' } });
      await put.arrayBuffer();
      assert.equal(put.status, 201);
      const get = await f('/v2/conformance/pull/manifests/list', { headers: { Accept: 'application/vnd.docker.distribution.manifest.list.v2+json' } });
      assert.equal(get.headers.get('docker-content-digest'), sha256(index));
      assert.deepEqual(Buffer.from(await get.arrayBuffer()), index);
    });
    check('push.subject', async () => {
      const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.manifestDigest, size: image.manifest.length };
      const empty = Buffer.from('{}');
      await pushBlob(f, 'conformance/pull', empty);
      const referrer = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.example.sbom',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 }],
        subject,
      }));
      const put = await f(`/v2/conformance/pull/manifests/${sha256(referrer)}`, { method: 'PUT', body: referrer, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
      await put.arrayBuffer();
      assert.equal(put.status, 201);
      assert.equal(put.headers.get('oci-subject'), image.manifestDigest);
    });
    check('push.invalid-name', async () => {
      const res = await f('/v2/Conformance/UPPER/blobs/uploads/', { method: 'POST' });
      assert.equal(res.status, 400);
      assert.ok((await errorCodes(res)).includes('NAME_INVALID'));
    });

    // ---- content discovery ----
    const tagRepo = 'conformance/tags';
    const tagNames = ['a', 'b', 'c', 'd', 'e'];
    const pushTags = async (): Promise<void> => {
      const pushed = await pushImage(f, tagRepo, 'a');
      for (const tag of tagNames.slice(1)) {
        const res = await f(`/v2/${tagRepo}/manifests/${tag}`, { method: 'PUT', body: pushed.manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
        await res.arrayBuffer();
        assert.equal(res.status, 201);
      }
    };
    check('discovery.tags', async () => {
      await pushTags();
      const res = await f(`/v2/${tagRepo}/tags/list`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { name: tagRepo, tags: tagNames });
    });
    check('discovery.tags-pagination', async () => {
      await pushTags();
      const seen: string[] = [];
      let path: string | undefined = `/v2/${tagRepo}/tags/list?n=2`;
      let pages = 0;
      while (path && pages < 10) {
        const res: Response = await f(path);
        assert.equal(res.status, 200);
        const body = (await res.json()) as { tags: string[] };
        assert.ok(body.tags.length <= 2);
        seen.push(...body.tags);
        path = nextLink(res);
        pages++;
      }
      assert.deepEqual(seen, tagNames);
    });
    check('discovery.tags-last', async () => {
      await pushTags();
      const res = await f(`/v2/${tagRepo}/tags/list?n=2&last=b`);
      assert.deepEqual(((await res.json()) as { tags: string[] }).tags, ['c', 'd']);
    });
    check('discovery.tags-unknown-repo', async () => {
      const res = await f('/v2/conformance/never-pushed/tags/list');
      assert.equal(res.status, 404);
      assert.ok((await errorCodes(res)).includes('NAME_UNKNOWN'));
    });
    check('discovery.catalog', async () => {
      const res = await f('/v2/_catalog');
      assert.equal(res.status, 200);
      const body = (await res.json()) as { repositories: string[] };
      assert.ok(body.repositories.includes('conformance/pull'));
      const page = await f('/v2/_catalog?n=1');
      const first = (await page.json()) as { repositories: string[] };
      assert.equal(first.repositories.length, 1);
      assert.ok(nextLink(page), 'a partial catalog page links to the next one');
    });
    const pushReferrers = async (repo: string): Promise<{ subject: PushedImage; sbom: string; sig: string }> => {
      const subject = await pushImage(f, repo, 'subject');
      const desc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject.manifestDigest, size: subject.manifest.length };
      const sbom = await pushImage(f, repo, undefined, { artifactType: 'application/vnd.example.sbom', subject: desc, annotations: { kind: 'sbom' } });
      const sig = await pushImage(f, repo, undefined, { subject: desc }, 'application/vnd.example.signature');
      return { subject, sbom: sbom.manifestDigest, sig: sig.manifestDigest };
    };
    check('discovery.referrers', async () => {
      const { subject, sbom, sig } = await pushReferrers('conformance/referrers');
      const res = await f(`/v2/conformance/referrers/referrers/${subject.manifestDigest}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json');
      const index = (await res.json()) as { manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[] };
      const byDigest = new Map(index.manifests.map((m) => [m.digest, m]));
      assert.equal(byDigest.size, 2);
      assert.equal(byDigest.get(sbom)?.artifactType, 'application/vnd.example.sbom');
      assert.deepEqual(byDigest.get(sbom)?.annotations, { kind: 'sbom' });
      assert.equal(byDigest.get(sig)?.artifactType, 'application/vnd.example.signature', 'artifactType falls back to the config media type');
    });
    check('discovery.referrers-filter', async () => {
      const { subject, sbom } = await pushReferrers('conformance/referrers-filter');
      const res = await f(`/v2/conformance/referrers-filter/referrers/${subject.manifestDigest}?artifactType=${encodeURIComponent('application/vnd.example.sbom')}`);
      assert.equal(res.headers.get('oci-filters-applied'), 'artifactType');
      const index = (await res.json()) as { manifests: { digest: string }[] };
      assert.deepEqual(index.manifests.map((m) => m.digest), [sbom]);
    });
    check('discovery.referrers-empty', async () => {
      const res = await f(`/v2/conformance/pull/referrers/${sha256('no referrers')}`);
      assert.equal(res.status, 200);
      const index = (await res.json()) as { schemaVersion: number; manifests: unknown[] };
      assert.equal(index.schemaVersion, 2);
      assert.deepEqual(index.manifests, []);
    });

    // ---- content management ----
    check('management.delete-manifest', async () => {
      const pushed = await pushImage(f, 'conformance/delete-manifest', 'gone');
      const del = await f(`/v2/conformance/delete-manifest/manifests/${pushed.manifestDigest}`, { method: 'DELETE' });
      await del.arrayBuffer();
      assert.equal(del.status, 202);
      for (const ref of [pushed.manifestDigest, 'gone']) {
        const get = await f(`/v2/conformance/delete-manifest/manifests/${ref}`);
        await get.arrayBuffer();
        assert.equal(get.status, 404, `${ref} is gone after the delete`);
      }
    });
    check('management.delete-tag', async () => {
      const pushed = await pushImage(f, 'conformance/delete-tag', 'one');
      const del = await f('/v2/conformance/delete-tag/manifests/one', { method: 'DELETE' });
      await del.arrayBuffer();
      assert.equal(del.status, 202);
      const byTag = await f('/v2/conformance/delete-tag/manifests/one');
      await byTag.arrayBuffer();
      assert.equal(byTag.status, 404);
      const byDigest = await f(`/v2/conformance/delete-tag/manifests/${pushed.manifestDigest}`, { method: 'HEAD' });
      assert.equal(byDigest.status, 200, 'deleting a tag keeps the manifest');
    });
    check('management.delete-blob', async () => {
      const digest = await pushBlob(f, 'conformance/delete-blob', randomBytes(700));
      const del = await f(`/v2/conformance/delete-blob/blobs/${digest}`, { method: 'DELETE' });
      await del.arrayBuffer();
      assert.equal(del.status, 202);
      const head = await f(`/v2/conformance/delete-blob/blobs/${digest}`, { method: 'HEAD' });
      assert.equal(head.status, 404);
    });
    check('management.delete-unknown', async () => {
      const res = await f(`/v2/conformance/pull/manifests/${sha256('never')}`, { method: 'DELETE' });
      assert.equal(res.status, 404);
      assert.ok((await errorCodes(res)).includes('MANIFEST_UNKNOWN'));
    });
    check('management.delete-referrer', async () => {
      const { subject, sbom } = await pushReferrers('conformance/referrers-delete');
      const del = await f(`/v2/conformance/referrers-delete/manifests/${sbom}`, { method: 'DELETE' });
      await del.arrayBuffer();
      assert.equal(del.status, 202);
      const res = await f(`/v2/conformance/referrers-delete/referrers/${subject.manifestDigest}`);
      const index = (await res.json()) as { manifests: { digest: string }[] };
      assert.ok(!index.manifests.some((m) => m.digest === sbom), 'a deleted referrer is no longer listed');
    });
  });
}
