import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHtpasswd } from '../../registry/server/auth/htpasswd.js';
import { validateTokenAuthConfig } from '../../registry/server/auth/tokenAuth.js';
import { parseRange } from '../../registry/server/http/blobHandlers.js';
import { paginate } from '../../registry/server/http/respond.js';
import { matchRoute } from '../../registry/server/http/routes.js';
import { isRepositoryName, isTag, isUploadId } from '../../registry/server/storage/names.js';
import { parseAddr } from '../../registry/server/index.js';
import { isBerthError } from '../../src/errors/BerthError.js';

test('repository names follow the spec grammar and cannot spell a path trick', () => {
  for (const ok of ['a', 'library/busybox', 'a.b_c__d-e--f/g0', 'x/y/z/w', `${'a'.repeat(255)}`]) assert.ok(isRepositoryName(ok), ok);
  for (const bad of ['', '..', 'a/..', '../a', '/a', 'a/', 'a//b', '%2e%2e', 'A', 'a/_manifests', 'a/.b', 'a./b', 'a___b', 'a/-b', `${'a'.repeat(256)}`, 'a\\b', 'a b']) {
    assert.ok(!isRepositoryName(bad), JSON.stringify(bad));
  }
  assert.ok(isTag('v1.0_rc-2') && isTag('_x') && isTag('A'.repeat(128)));
  assert.ok(!isTag('.hidden') && !isTag('..') && !isTag('-x') && !isTag('a/b') && !isTag('A'.repeat(129)));
  assert.ok(isUploadId('0f8fad5b-d9cb-469f-a165-70867728950e'));
  assert.ok(!isUploadId('../0f8fad5b-d9cb-469f-a165-70867728950e') && !isUploadId('x'));
});

test('routes are matched on the raw path', () => {
  assert.deepEqual(matchRoute('/v2/'), { kind: 'base' });
  assert.deepEqual(matchRoute('/v2/a/b/manifests/v1'), { kind: 'manifest', name: 'a/b', reference: 'v1' });
  assert.deepEqual(matchRoute('/v2/a/blobs/uploads/'), { kind: 'uploadStart', name: 'a' });
  assert.deepEqual(matchRoute('/v2/a/blobs/uploads/id'), { kind: 'upload', name: 'a', id: 'id' });
  assert.deepEqual(matchRoute('/v2/a/blobs/sha256:x'), { kind: 'blob', name: 'a', digest: 'sha256:x' });
  assert.deepEqual(matchRoute('/v2/%2e%2e/tags/list'), { kind: 'tags', name: '%2e%2e' });
  assert.equal(matchRoute('/v1/x'), undefined);
});

test('Range headers: single ranges, suffixes, open ends; the rest is unsatisfiable', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), [0, 9]);
  assert.deepEqual(parseRange('bytes=90-', 100), [90, 99]);
  assert.deepEqual(parseRange('bytes=-10', 100), [90, 99]);
  assert.deepEqual(parseRange('bytes=50-500', 100), [50, 99]);
  for (const bad of ['bytes=100-', 'bytes=5-1', 'bytes=-0', 'bytes=-', 'items=0-1', 'bytes=0-1,3-4']) assert.equal(parseRange(bad, 100), undefined, bad);
});

test('pagination with n and last, and a Link to the next page', () => {
  const items = ['a', 'b', 'c', 'd'];
  assert.deepEqual(paginate(items, new URLSearchParams(''), '/p'), { page: items });
  assert.deepEqual(paginate(items, new URLSearchParams('n=2'), '/p'), { page: ['a', 'b'], link: '</p?n=2&last=b>; rel="next"' });
  assert.deepEqual(paginate(items, new URLSearchParams('n=2&last=b'), '/p'), { page: ['c', 'd'] });
  assert.deepEqual(paginate(items, new URLSearchParams('n=0'), '/p'), { page: [] });
  assert.throws(() => paginate(items, new URLSearchParams('n=-1'), '/p'));
});

test('listen addresses, htpasswd files and token configs are checked up front', () => {
  assert.deepEqual(parseAddr('127.0.0.1:5000'), { host: '127.0.0.1', port: 5000 });
  assert.deepEqual(parseAddr('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseAddr(':8080'), { host: '0.0.0.0', port: 8080 });
  for (const bad of ['5000', 'host', 'h:99999', '[::1]']) assert.throws(() => parseAddr(bad), (e) => isBerthError(e, 'USAGE'), bad);

  const hash = '$2y$05$' + 'a'.repeat(53);
  assert.equal(parseHtpasswd(`# comment\n\nalice:${hash}\n`, 'f').get('alice'), hash);
  assert.throws(() => parseHtpasswd('bob:$apr1$xyz$abc', 'f'), /only bcrypt/);
  assert.throws(() => parseHtpasswd('justaname', 'f'), /only bcrypt/);

  assert.ok(validateTokenAuthConfig({ access: [{ account: 'a', repository: 'x/*', actions: ['pull'] }] }));
  assert.throws(() => validateTokenAuthConfig({ access: [{ account: 'a', repository: 'x', actions: ['steal'] }] }), /actions/);
  assert.throws(() => validateTokenAuthConfig({ access: [], users: { a: 'plaintext' } }), /only bcrypt/);
  assert.throws(() => validateTokenAuthConfig([]), /JSON object/);
});
