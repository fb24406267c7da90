import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDockerReference } from '../../src/reference/dockerReference.js';
import { dockerScopes, loadRegistriesD, lookasideFor, useSigstoreAttachmentsFor } from '../../src/sign/policy/registriesD.js';
import { signatureUrl } from '../../src/sign/simple/lookaside.js';
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
