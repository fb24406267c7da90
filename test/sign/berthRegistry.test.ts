import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startRegistryServer } from '../../registry/server/startRegistryServer.js';
import { tempDir } from '../support/peers.js';
import { berthAsync } from '../support/runCli.js';
import { sigTag } from './support/rawLayout.js';

const PW = { COSIGN_PASSWORD: 'pw' };

/** Push blobs and manifests straight over the distribution API, so these tests need no berth writer. */
async function push(base: string, repo: string, body: Buffer, kind: 'blob' | { tag: string; mediaType: string }): Promise<{ digest: string; size: number }> {
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  if (kind === 'blob') {
    const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    const url = new URL(start.headers.get('location') as string, base);
    url.searchParams.set('digest', digest);
    const put = await fetch(url, { method: 'PUT', body: new Uint8Array(body), headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(put.status, 201, await put.text());
  } else {
    const put = await fetch(`${base}/v2/${repo}/manifests/${kind.tag}`, { method: 'PUT', body: new Uint8Array(body), headers: { 'Content-Type': kind.mediaType } });
    assert.equal(put.status, 201, await put.text());
  }
  return { digest, size: body.length };
}

async function setup(t: TestContext) {
  const dir = tempDir(t);
  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'registry') });
  t.after(() => server.close());
  const base = server.url;
  const instances: { digest: string; size: number }[] = [];
  for (const arch of ['amd64', 'arm64']) {
    const cfg = await push(base, 'demo/multi', Buffer.from(`{"architecture":"${arch}","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`), 'blob');
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg }, layers: [] }));
    instances.push(await push(base, 'demo/multi', manifest, { tag: `sha256:${createHash('sha256').update(manifest).digest('hex')}`, mediaType: 'application/vnd.oci.image.manifest.v1+json' }));
  }
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: instances.map((m, i) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, platform: { os: 'linux', architecture: i === 0 ? 'amd64' : 'arm64' } })),
    }),
  );
  const top = await push(base, 'demo/multi', index, { tag: 'v1', mediaType: 'application/vnd.oci.image.index.v1+json' });
  assert.equal((await berthAsync(['generate-key', '--output-prefix', join(dir, 'k')], { env: PW })).status, 0);
  return { base, host: server.host, top, instances, key: join(dir, 'k.key'), pub: join(dir, 'k.pub') };
}

test("berth's registry: -r signs an index and every instance; referrers come back through the referrers API", async (t) => {
  const s = await setup(t);
  const ref = `docker://${s.host}/demo/multi:v1`;
  const signed = await berthAsync(['sign', '--key', s.key, '-r', '--registry-referrers-mode', 'oci-1-1', '--format', 'json', ref], { env: PW });
  assert.equal(signed.status, 0, signed.stderr);
  assert.deepEqual(
    JSON.parse(signed.stdout).signed.map((x: { digest: string }) => x.digest),
    [s.top.digest, ...s.instances.map((i) => i.digest)],
  );
  const referrers = await (await fetch(`${s.base}/v2/demo/multi/referrers/${s.instances[1]?.digest}`)).json() as { manifests: { artifactType: string }[] };
  assert.equal(referrers.manifests.length, 1);
  assert.equal(referrers.manifests[0]?.artifactType, 'application/vnd.dev.cosign.artifact.sig.v1+json');
  for (const digest of [s.top.digest, ...s.instances.map((i) => i.digest)]) {
    const v = await berthAsync(['verify', '--key', s.pub, '--identity', `${s.host}/demo/multi`, `docker://${s.host}/demo/multi@${digest}`]);
    assert.equal(v.status, 0, v.stderr);
  }
  // No fallback tag index was written, since the registry has the referrers API.
  assert.equal((await fetch(`${s.base}/v2/demo/multi/manifests/${s.top.digest.replace(':', '-')}`)).status, 404);
});

test("berth's registry: legacy .sig tags append and verify", async (t) => {
  const s = await setup(t);
  const ref = `docker://${s.host}/demo/multi:v1`;
  for (let i = 0; i < 2; i++) assert.equal((await berthAsync(['sign', '--key', s.key, ref], { env: PW })).status, 0);
  const sig = await (await fetch(`${s.base}/v2/demo/multi/manifests/${sigTag(s.top.digest)}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json() as { layers: unknown[] };
  assert.equal(sig.layers.length, 2);
  const v = await berthAsync(['verify', '--key', s.pub, '--check-identity', 'exact', ref]);
  assert.equal(v.status, 0, v.stderr);
  assert.equal(JSON.parse(v.stdout).length, 2);
});
