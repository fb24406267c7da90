import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { RegistryClient } from '../../registry/client/RegistryClient.js';
import { closeDispatchers } from '../../registry/client/dispatcher.js';
import { FaultProxy, type Rule } from '../fault-proxy/faultProxy.js';
import { peer, tempDir } from '../support/peers.js';
import { buildRandomLayout } from '../support/ociImage.js';
import { berthAsync, ok, run } from '../support/runCli.js';
import { dockerRegistryFor } from '../support/dockerRegistry.js';

/**
 * Faults a registry can throw at a copy, injected by a proxy on loopback in
 * front of a real docker-registry. Each copy must either complete with the
 * right bytes or fail with one clear line, and the destination must never
 * hold a blob with the wrong digest nor a manifest whose blobs are missing.
 */
let skopeo: string | undefined;
let host = '';
let proxy: FaultProxy;
let big = '';
let workDir = '';
let counter = 0;
const FAST_RETRY = ['--retry-times', '3', '--retry-delay', '50ms'];

async function setUp(t: TestContext): Promise<boolean> {
  skopeo = peer(t, 'skopeo');
  const setup = await dockerRegistryFor(t);
  if (!skopeo || !setup) return false;
  host = setup.registry.host;
  workDir = tempDir(t);
  const layout = join(setup.dir, 'layout');
  const image = await buildRandomLayout(layout, 'v1', [{ file0: 3000 }, { file1: 1_500_000 }]);
  const manifest = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', image.manifest.digest.slice(7)), 'utf8')) as { layers: Array<{ digest: string }> };
  big = manifest.layers[1]!.digest;
  await ok(run(skopeo, ['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${host}/src/img:v1`]), 'seed');
  proxy = await new FaultProxy({ host: '127.0.0.1', port: setup.registry.port }).start();
  t.after(async () => {
    await proxy.stop();
    await closeDispatchers();
  });
  return true;
}

const bigBlob = (): RegExp => new RegExp(`/blobs/${big.replace(':', ':')}`);

async function copyThrough(side: 'source' | 'destination', rules: Rule[], extra: string[] = []): Promise<{ status: number; stderr: string; dest: string }> {
  proxy.set(rules);
  const dest = `dst${++counter}/img`;
  const from = side === 'source' ? `docker://${proxy.host}/src/img:v1` : `docker://${host}/src/img:v1`;
  const to = side === 'source' ? `docker://${host}/${dest}:v1` : `docker://${proxy.host}/${dest}:v1`;
  const result = await berthAsync(['copy', ...FAST_RETRY, ...extra, from, to]);
  return { status: result.status, stderr: result.stderr, dest };
}

/** The destination holds a complete, correct image: skopeo (which verifies every digest) can pull it. */
async function assertComplete(dest: string): Promise<void> {
  const out = join(workDir, `check-${dest.replace(/\//g, '-')}`);
  await ok(run(skopeo!, ['copy', '--src-tls-verify=false', `docker://${host}/${dest}:v1`, `oci:${out}:v1`]), `skopeo pull ${dest}`);
}

/** Neither the tag nor the big blob exists at the destination. */
async function assertNothingTrusted(dest: string): Promise<void> {
  const client = new RegistryClient(host, { tlsVerify: false, retryTimes: 0 });
  assert.equal(await client.headManifest(dest, 'v1'), undefined, 'no manifest at the destination');
  const res = await client.send({ method: 'HEAD', path: `/v2/${dest}/blobs/${big}`, scopes: [], what: 'head' });
  await res.body.dump?.();
  assert.equal(res.statusCode, 404, 'no blob at the destination');
}

test('copies through a fault-injecting proxy complete right or fail clearly', async (t) => {
  if (!(await setUp(t))) return;

  await t.test('connection reset in the middle of a blob: resumed with Range, copy completes', async () => {
    const r = await copyThrough('source', [{ method: 'GET', path: bigBlob(), fault: { kind: 'reset', afterBytes: 400_000 }, times: 1 }]);
    assert.equal(r.status, 0, r.stderr);
    const resumed = proxy.log.filter((l) => l.path.includes(big) && l.range !== undefined);
    assert.ok(resumed.length >= 1, 'a Range request resumed the blob');
    assert.match(resumed[0]!.range!, /^bytes=[1-9]\d*-$/);
    await assertComplete(r.dest);
  });

  await t.test('truncated body (Content-Length promised, fewer bytes sent): resumed, copy completes', async () => {
    const r = await copyThrough('source', [{ method: 'GET', path: bigBlob(), fault: { kind: 'truncate', afterBytes: 700_000 }, times: 1 }]);
    assert.equal(r.status, 0, r.stderr);
    await assertComplete(r.dest);
  });

  await t.test('500, 502 and 503 answers are retried with backoff and the copy completes', async () => {
    const r = await copyThrough('source', [
      { method: 'GET', path: /\/manifests\//, fault: { kind: 'status', status: 500 }, times: 1 },
      { method: 'GET', path: bigBlob(), fault: { kind: 'status', status: 502 }, times: 1 },
      { method: 'GET', path: /\/blobs\//, fault: { kind: 'status', status: 503 }, times: 1 },
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(proxy.log.filter((l) => l.fault).map((l) => l.fault), ['status', 'status', 'status']);
    await assertComplete(r.dest);
  });

  await t.test('429 with Retry-After is honoured before asking again', async () => {
    const r = await copyThrough('source', [{ method: 'GET', path: bigBlob(), fault: { kind: 'status', status: 429, retryAfter: '1' }, times: 1 }]);
    assert.equal(r.status, 0, r.stderr);
    const hits = proxy.log.filter((l) => l.path.includes(big) && l.method === 'GET');
    assert.equal(hits.length, 2);
    assert.ok(hits[1]!.at - hits[0]!.at >= 900, 'waited for Retry-After (1 s), not the 50 ms backoff');
    await assertComplete(r.dest);
  });

  await t.test('a slow registry still delivers the right bytes', async () => {
    const r = await copyThrough('source', [{ method: 'GET', path: bigBlob(), fault: { kind: 'slow', bytesPerSecond: 1_500_000 }, times: 1 }]);
    assert.equal(r.status, 0, r.stderr);
    await assertComplete(r.dest);
  });

  await t.test('wrong bytes for a digest: the copy fails clearly and the destination trusts nothing', async () => {
    const r = await copyThrough('source', [{ method: 'GET', path: bigBlob(), fault: { kind: 'corrupt', at: 1000 }, times: Infinity }]);
    assert.equal(r.status, 6, r.stderr);
    assert.match(r.stderr, /^berth: .*digest .* does not match/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    await assertNothingTrusted(r.dest);
  });

  await t.test('a registry that keeps failing: bounded retries, then one clear error', async () => {
    const r = await copyThrough('source', [{ method: 'GET', path: bigBlob(), fault: { kind: 'status', status: 503 }, times: Infinity }], ['--retry-times', '2']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^berth: registry 127\.0\.0\.1:\d+: GET blob .*\(HTTP 503\)\n$/);
    assert.equal(proxy.log.filter((l) => l.path.includes(big)).length, 3, 'one try and two retries');
    await assertNothingTrusted(r.dest);
  });

  await t.test('destination 503 on upload start is retried; the push completes', async () => {
    const r = await copyThrough('destination', [{ method: 'POST', path: /\/blobs\/uploads\//, fault: { kind: 'status', status: 503 }, times: 2 }]);
    assert.equal(r.status, 0, r.stderr);
    await assertComplete(r.dest);
  });

  await t.test('destination connection dies mid-upload: the blob is copied again from its start and the push completes', async () => {
    const r = await copyThrough('destination', [{ method: 'PATCH', path: /\/blobs\/uploads\//, fault: { kind: 'reset-request', afterBytes: 300_000 }, times: 1 }]);
    assert.equal(r.status, 0, r.stderr);
    await assertComplete(r.dest);
    const patches = proxy.log.filter((entry) => entry.method === 'PATCH');
    assert.equal(patches.filter((entry) => entry.fault === 'reset-request').length, 1, 'the fault fired once');
    assert.ok(patches.length >= 2, 'the broken upload was sent again');
  });

  await t.test('destination connection dies mid-upload: clear failure, no manifest; a rerun completes', async () => {
    const r = await copyThrough('destination', [{ method: 'PATCH', path: /\/blobs\/uploads\//, fault: { kind: 'reset-request', afterBytes: 300_000 }, times: 1 }], ['--retry-times', '0']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /^berth: registry 127\.0\.0\.1:\d+: upload blob .*\n$/);
    await assertNothingTrusted(r.dest);
    proxy.set([]);
    await ok(berthAsync(['copy', `docker://${host}/src/img:v1`, `docker://${proxy.host}/${r.dest}:v1`]), 'rerun');
    await assertComplete(r.dest);
  });
});
