import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mergeScopes, parseChallenges } from '../../registry/client/challenge.js';
import { nextLink } from '../../registry/client/RegistryClient.js';
import { RetryPolicy, isRetryableStatus } from '../../registry/client/retry.js';
import { isLoopbackHost } from '../../registry/client/dispatcher.js';
import { responseError } from '../../registry/client/errors.js';
import { findAuthEntry, normalizeAuthKey } from '../../src/credentials/authFiles.js';
import { resolveCredentials } from '../../src/credentials/resolve.js';
import { loadRegistriesConf, parseRegistriesConf } from '../../src/registries-conf/registriesConf.js';
import { pullSources, pushTarget, resolveShortName } from '../../src/registries-conf/pullSources.js';
import { renderTemplate } from '../../src/inspect/template.js';
import { filterTags, tagVersion } from '../../src/sync/syncSources.js';
import { destinationFor } from '../../src/sync/runSync.js';
import { parseDuration } from '../../src/cli/registryFlags.js';
import { tempDir } from '../support/peers.js';

test('WWW-Authenticate challenges are parsed, Bearer preferred, quoted commas kept', () => {
  const [bearer, basic] = parseChallenges(['Basic realm="r"', 'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"']);
  assert.equal(bearer!.scheme, 'bearer');
  assert.deepEqual(bearer!.params, { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' });
  assert.equal(basic!.scheme, 'basic');
  assert.deepEqual(parseChallenges(undefined), []);
  assert.deepEqual(parseChallenges('Bearer realm="x\\"y"')[0]!.params.realm, 'x"y');
});

test('scopes merge per resource with actions unioned', () => {
  assert.deepEqual(mergeScopes(['repository:a:pull', 'repository:a:push', 'repository:b:pull', 'repository:a:pull']), ['repository:a:pull,push', 'repository:b:pull']);
  assert.deepEqual(mergeScopes(['registry:catalog:*']), ['registry:catalog:*']);
});

test('Link pagination, retryable statuses, Retry-After and backoff bounds', () => {
  assert.equal(nextLink('</v2/x/tags/list?last=b&n=2>; rel="next"'), '/v2/x/tags/list?last=b&n=2');
  assert.equal(nextLink(undefined), undefined);
  for (const s of [408, 429, 500, 502, 503, 504]) assert.ok(isRetryableStatus(s), String(s));
  for (const s of [400, 401, 403, 404, 501]) assert.ok(!isRetryableStatus(s), String(s));
  const policy = new RetryPolicy({ retryDelayMs: 100, maxRetryAfterMs: 5000 });
  assert.equal(policy.delayFor(0), 100);
  assert.equal(policy.delayFor(3), 800);
  assert.equal(policy.delayFor(0, '2'), 2000);
  assert.equal(policy.delayFor(0, '3600'), 5000, 'Retry-After is capped');
  assert.ok(policy.delayFor(20) <= 30_000, 'backoff is bounded');
  assert.equal(new RetryPolicy({}).times, 3);
});

test('loopback hosts may fall back to plain HTTP; others may not', () => {
  for (const h of ['localhost:5000', '127.0.0.1:1234', '[::1]:5000', '127.1.2.3']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['registry.example:5000', '10.0.0.1', 'localhost.evil.com']) assert.ok(!isLoopbackHost(h), h);
});

test('registry error documents become one line with a stable code', () => {
  const err = responseError('r:5000', 'GET manifest a:b', 404, JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown\nsecond line' }] }));
  assert.equal(err.code, 'MANIFEST_UNKNOWN');
  assert.equal(err.message, 'registry r:5000: GET manifest a:b: manifest unknown second line (HTTP 404)');
  assert.equal(responseError('r', 'x', 401, '<html>').code, 'UNAUTHORIZED');
  assert.equal(responseError('r', 'x', 503, '').message, 'registry r: x: service unavailable (HTTP 503)');
});

test('auth file keys: docker URLs normalised, most specific namespace wins', () => {
  assert.equal(normalizeAuthKey('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(normalizeAuthKey('registry.example:5000'), 'registry.example:5000');
  const file = { auths: { 'r.example': { auth: 'aG9zdDpw' }, 'r.example/team': { auth: 'dGVhbTpw' } } };
  assert.equal(findAuthEntry(file, 'r.example', 'team/app')!.key, 'r.example/team');
  assert.equal(findAuthEntry(file, 'r.example', 'other/app')!.key, 'r.example');
  assert.equal(findAuthEntry(file, 'q.example', 'x'), undefined);
});

test('credential lookup order: --creds, --registry-token, then the auth file', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'auth.json');
  writeFileSync(file, JSON.stringify({ auths: { 'r.example': { auth: Buffer.from('u:p').toString('base64') }, 't.example': { identitytoken: 'refresh' } } }));
  assert.deepEqual((await resolveCredentials('r.example', 'a', { creds: 'x:y', authFile: file }))!.credentials, { kind: 'basic', username: 'x', password: 'y' });
  assert.deepEqual((await resolveCredentials('r.example', 'a', { registryToken: 'tok', authFile: file }))!.credentials, { kind: 'bearer', token: 'tok' });
  assert.deepEqual((await resolveCredentials('r.example', 'a', { authFile: file }))!.credentials, { kind: 'basic', username: 'u', password: 'p' });
  assert.deepEqual((await resolveCredentials('t.example', 'a', { authFile: file }))!.credentials, { kind: 'identityToken', token: 'refresh' });
  assert.equal(await resolveCredentials('none.example', 'a', { authFile: file }), undefined);
  writeFileSync(file, '{not json');
  await assert.rejects(resolveCredentials('r.example', 'a', { authFile: file }), /is not valid JSON/);
});

test('registries.conf: mirrors by pull-from-mirror, relocation, blocked, insecure', () => {
  const conf = parseRegistriesConf(
    `
unqualified-search-registries = ["a.example", "b.example"]
[aliases]
"app" = "c.example/team/app"
[[registry]]
prefix = "docker.io/library"
location = "internal.example/hub"
[[registry.mirror]]
location = "mirror1.example/hub"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "mirror2.example:5000/hub"
insecure = true
[[registry]]
location = "blocked.example"
blocked = true
`,
    'test.conf',
  );
  assert.deepEqual(pullSources('docker.io', 'library/busybox', false, conf).map((s) => `${s.host}/${s.repository}${s.insecure ? ' insecure' : ''}${s.mirror ? ' mirror' : ''}`), [
    'mirror2.example:5000/hub/busybox insecure mirror',
    'internal.example/hub/busybox',
  ]);
  assert.equal(pullSources('docker.io', 'library/busybox', true, conf).length, 3);
  assert.deepEqual(pushTarget('docker.io', 'library/busybox', conf), { host: 'internal.example', repository: 'hub/busybox', insecure: false, mirror: false });
  assert.deepEqual(pullSources('other.example', 'x', false, conf), [{ host: 'other.example', repository: 'x', insecure: false, mirror: false }]);
  assert.throws(() => pullSources('blocked.example', 'x', false, conf), /blocked/);
  assert.equal(resolveShortName('app:1', conf), 'c.example/team/app:1');
  assert.throws(() => resolveShortName('busybox', conf), /ambiguous.*a\.example, b\.example/);
  assert.throws(() => parseRegistriesConf('[[registry]]\nprefix = 3', 'x.conf'), /x\.conf/);
  assert.throws(() => parseRegistriesConf('[registries.search]\nregistries = ["a"]', 'v1.conf'), /v1 format/);
});

test('registries.conf.d drop-ins: applied in name order over the main file, overriding only what they set', (t) => {
  const home = tempDir(t);
  const dropIns = join(home, 'containers', 'registries.conf.d');
  mkdirSync(dropIns, { recursive: true });
  const main = join(home, 'registries.conf');
  writeFileSync(main, 'unqualified-search-registries = ["a.example"]\nshort-name-mode = "permissive"\n[aliases]\n"app" = "a.example/app"\n[[registry]]\nprefix = "x.example"\nlocation = "x-old.example"\n[[registry]]\nlocation = "kept.example"\ninsecure = true\n');
  writeFileSync(join(dropIns, '10-search.conf'), 'unqualified-search-registries = ["b.example"]\n[aliases]\n"tool" = "b.example/tools/tool"\n');
  writeFileSync(join(dropIns, '20-relocate.conf'), '[aliases]\n"app" = "c.example/app"\n[[registry]]\nprefix = "x.example"\nlocation = "x-new.example"\n');
  writeFileSync(join(dropIns, 'ignored.txt'), 'not toml at all [');
  const saved = process.env.XDG_CONFIG_HOME;
  process.env.XDG_CONFIG_HOME = home;
  t.after(() => (saved === undefined ? delete process.env.XDG_CONFIG_HOME : (process.env.XDG_CONFIG_HOME = saved)));
  const conf = loadRegistriesConf(main);
  assert.deepEqual(conf.unqualifiedSearchRegistries, ['b.example']);
  assert.equal(conf.shortNameMode, 'permissive', 'a drop-in that does not set the mode keeps the main file\'s');
  assert.equal(resolveShortName('app', conf), 'c.example/app', 'the later drop-in wins an alias');
  assert.equal(resolveShortName('tool:1', conf), 'b.example/tools/tool:1');
  assert.equal(resolveShortName('other', conf), 'b.example/other');
  assert.deepEqual(pullSources('x.example', 'r', false, conf).map((s) => s.host), ['x-new.example']);
  assert.equal(pullSources('kept.example', 'r', false, conf)[0]!.insecure, true, 'entries a drop-in does not name are kept');
  writeFileSync(join(dropIns, '30-broken.conf'), 'unqualified-search-registries = [');
  const withBroken = join(home, 'other.conf');
  writeFileSync(withBroken, '');
  assert.throws(() => loadRegistriesConf(withBroken), /30-broken\.conf/, 'a broken drop-in is an error naming it, never skipped');
});

test('inspect templates: fields, json, index, range; unknown syntax refused', () => {
  const data = { Name: 'r/x', Labels: { a: '1' }, RepoTags: ['v1', 'v2'], Digest: 'sha256:ab' };
  assert.equal(renderTemplate('{{.Name}} {{.Digest}}', data), 'r/x sha256:ab');
  assert.equal(renderTemplate('{{json .Labels}}', data), '{"a":"1"}');
  assert.equal(renderTemplate('{{index .Labels "a"}}', data), '1');
  assert.equal(renderTemplate('{{range .RepoTags}}[{{.}}]{{end}}', data), '[v1][v2]');
  assert.throws(() => renderTemplate('{{printf "%s" .Name}}', data), /unsupported/);
  assert.throws(() => renderTemplate('{{.Nope}}', data), /no field/);
  assert.throws(() => renderTemplate('{{.Name', data), /unclosed/);
});

test('sync tag filters (regex, semver ranges) and destination naming', () => {
  assert.equal(tagVersion('v1.2'), '1.2.0');
  assert.equal(tagVersion('1.2.3-rc1'), '1.2.3-rc1');
  assert.equal(tagVersion('latest'), undefined);
  assert.deepEqual(filterTags(['1.0', '1.5.2', '2.0.0', 'latest', 'v1.9'], { semverRange: '>=1.5 <2' }), ['1.5.2', 'v1.9']);
  assert.deepEqual(filterTags(['1.0-alpine', '1.0', '2.0-alpine'], { regex: /-alpine$/ }), ['1.0-alpine', '2.0-alpine']);
  assert.throws(() => filterTags(['1'], { semverRange: 'not a range !!' }), /invalid semver range/);
  const item = { source: 'docker://r/a/b:1', suffix: 'b:1', sourceOptions: {} };
  assert.equal(destinationFor(item, 'docker', 'docker://dst.example/ns/'), 'docker://dst.example/ns/b:1');
  assert.equal(destinationFor(item, 'dir', '/tmp/out'), 'dir:/tmp/out/b:1');
  assert.equal(destinationFor(item, 'oci', '/tmp/layout'), 'oci:/tmp/layout:b:1');
});

test('durations as skopeo takes them', () => {
  assert.equal(parseDuration('500ms', 'f'), 500);
  assert.equal(parseDuration('2s', 'f'), 2000);
  assert.equal(parseDuration('1.5m', 'f'), 90_000);
  assert.equal(parseDuration('3', 'f'), 3000);
  assert.throws(() => parseDuration('soon', '--retry-delay'), /--retry-delay/);
});

test('a corrupt auth directory entry does not crash lookups of other hosts', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'd'));
  const file = join(dir, 'd', 'auth.json');
  writeFileSync(file, JSON.stringify({ auths: { 'bad.example': { auth: Buffer.from('no-colon').toString('base64') } } }));
  await assert.rejects(resolveCredentials('bad.example', undefined, { authFile: file }), /not base64 of user:password/);
  assert.equal(await resolveCredentials('good.example', undefined, { authFile: file }), undefined);
});
