import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dockerScopes, parseDockerReference } from '../../src/reference/dockerReference.js';
import { loadRegistriesD, lookasideFor, useSigstoreAttachmentsFor } from '../../src/sign/policy/registriesD.js';
import { readLookasideSignatures, signatureUrl } from '../../src/sign/simple/lookaside.js';
import { closeDispatchers } from '../../registry/client/dispatcher.js';
import type { Digest } from '../../src/oci/digest.js';
import { tempDir } from '../support/peers.js';

test('scopes run from the most specific to wildcards', () => {
  assert.deepEqual(dockerScopes(parseDockerReference('reg.example.com:5000/team/app:1')), [
    'reg.example.com:5000/team/app:1',
    'reg.example.com:5000/team/app',
    'reg.example.com:5000/team',
    'reg.example.com:5000',
    '*.example.com',
    '*.com',
  ]);
});

test('lookaside and use-sigstore-attachments are looked up per field; staging wins for writes; old key names are read', (t) => {
  const dir = tempDir(t);
  const d = join(dir, 'registries.d');
  mkdirSync(d);
  writeFileSync(
    join(d, 'a.yaml'),
    [
      'default-docker:',
      '  lookaside: file:///default',
      '  use-sigstore-attachments: true',
      'docker:',
      '  reg.example.com/team:',
      '    lookaside: https://sigs.example.com/team',
      '    lookaside-staging: file:///staging/team',
      '  reg.example.com/team/legacy:',
      '    sigstore: file:///legacy',
      '    use-sigstore-attachments: false',
    ].join('\n'),
  );
  writeFileSync(join(d, 'b.yml'), 'docker:\n  "*.example.org":\n    lookaside: file:///wild\n');
  writeFileSync(join(d, 'ignored.txt'), 'not: [yaml');
  const config = loadRegistriesD(d);
  const ref = (s: string) => parseDockerReference(s);
  assert.equal(lookasideFor(config, ref('reg.example.com/team/app:1'), false), 'https://sigs.example.com/team');
  assert.equal(lookasideFor(config, ref('reg.example.com/team/app:1'), true), 'file:///staging/team');
  assert.equal(lookasideFor(config, ref('reg.example.com/team/legacy:1'), true), 'file:///legacy');
  assert.equal(useSigstoreAttachmentsFor(config, ref('reg.example.com/team/legacy:1')), false);
  assert.equal(useSigstoreAttachmentsFor(config, ref('reg.example.com/team/app:1')), true);
  assert.equal(useSigstoreAttachmentsFor(loadRegistriesD(join(dir, 'none')), ref('reg.example.com/team/app:1')), undefined);
  assert.equal(lookasideFor(config, ref('registry.example.org/x:1'), false), 'file:///wild');
  assert.equal(lookasideFor(config, ref('quay.io/x:1'), false), 'file:///default');
});

test('invalid or conflicting registries.d files are refused', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.yaml'), 'docker:\n  reg.example.com:\n    lookaside: file:///a\n');
  writeFileSync(join(dir, 'b.yaml'), 'docker:\n  reg.example.com:\n    lookaside: file:///b\n');
  assert.throws(() => loadRegistriesD(dir), /scope reg\.example\.com is defined in more than one place/);
  const other = tempDir(t);
  writeFileSync(join(other, 'a.yaml'), 'docker: [1, 2]\n');
  assert.throws(() => loadRegistriesD(other), /docker must be a mapping/);
  writeFileSync(join(other, 'a.yaml'), 'default-docker:\n  use-sigstore-attachments: "yes"\n');
  assert.throws(() => loadRegistriesD(other), /use-sigstore-attachments must be true or false/);
  assert.deepEqual(loadRegistriesD(join(other, 'missing')).docker.size, 0);
});

test('lookaside URLs follow skopeo: base/repo-path@sha256=hex/signature-N', () => {
  const digest = `sha256:${'a'.repeat(64)}` as never;
  assert.equal(signatureUrl('file:///srv/sigs/', 'team/app', digest, 1).href, `file:///srv/sigs/team/app@sha256=${'a'.repeat(64)}/signature-1`);
  assert.equal(signatureUrl('https://s.example/x', 'library/busybox', digest, 3).href, `https://s.example/x/library/busybox@sha256=${'a'.repeat(64)}/signature-3`);
});

test('signatures are read from an http lookaside in order, across redirects, up to the first missing one', async (t) => {
  const digest = `sha256:${'ab'.repeat(32)}` as Digest;
  const served = new Map([
    [signatureUrl('http://x/sigs', 'team/app', digest, 1).pathname, Buffer.from('first')],
    ['/moved/second', Buffer.from('second')],
  ]);
  const server = createServer((req, res) => {
    if (req.url === signatureUrl('http://x/sigs', 'team/app', digest, 2).pathname) {
      res.writeHead(302, { location: '/moved/second' }).end();
      return;
    }
    if (req.url?.startsWith('/huge/')) {
      res.writeHead(200).end(Buffer.alloc(5 * 1024 * 1024));
      return;
    }
    const body = served.get(req.url ?? '');
    if (body) res.writeHead(200).end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.close();
    await closeDispatchers();
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const read = await readLookasideSignatures(`${base}/sigs`, 'team/app', digest);
  assert.deepEqual(read.map((b) => b.toString()), ['first', 'second']);
  // A hostile lookaside cannot make berth read more than a signature's size limit.
  await assert.rejects(readLookasideSignatures(`${base}/huge`, 'team/app', digest), /larger than/);
});
