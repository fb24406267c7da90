import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { berthBin, peer, tempDir, which } from '../support/peers.js';
import { buildRandomLayout } from '../support/ociImage.js';
import { startBerth } from './support/targets.js';

const run = promisify(execFile);

async function tool(bin: string, args: string[]): Promise<string> {
  const { stdout } = await run(bin, args, { maxBuffer: 16 << 20, env: { ...process.env, REGISTRY_AUTH_FILE: '/nonexistent/auth.json' } });
  return stdout;
}

async function berth(args: string[]): Promise<string> {
  return tool(process.execPath, [berthBin, ...args]);
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** The htpasswd -B format: bcrypt with the $2y$ prefix Apache writes. */
function htpasswdLine(user: string, password: string): string {
  return `${user}:${bcrypt.hashSync(password, 4).replace(/^\$2b\$/, '$2y$')}`;
}

test('htpasswd Basic auth: no or wrong credentials are refused, skopeo and berth push and pull with them', async (t) => {
  const work = tempDir(t);
  const file = join(work, 'htpasswd');
  writeFileSync(file, `# users\n${htpasswdLine('alice', 's3cret')}\n`);
  const registry = await startBerth(join(work, 'root'), { auth: { mode: 'htpasswd', file } });
  t.after(() => registry.close());

  const anonymous = await fetch(`${registry.url}/v2/`);
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm=/);
  assert.equal(((await anonymous.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAUTHORIZED');
  const wrong = await fetch(`${registry.url}/v2/x/tags/list`, { headers: { Authorization: basic('alice', 'guess') } });
  assert.equal(wrong.status, 401);
  const unknownUser = await fetch(`${registry.url}/v2/`, { headers: { Authorization: basic('mallory', 's3cret') } });
  assert.equal(unknownUser.status, 401);
  const right = await fetch(`${registry.url}/v2/`, { headers: { Authorization: basic('alice', 's3cret') } });
  assert.equal(right.status, 200);

  const image = await buildRandomLayout(join(work, 'layout'), 'v1', [{ 'hello.txt': 64 }]);
  const skopeo = which('skopeo');
  if (skopeo) {
    await tool(skopeo, ['copy', '--dest-tls-verify=false', '--dest-creds', 'alice:s3cret', `oci:${image.dir}:v1`, `docker://${registry.host}/basic/app:v1`]);
    await assert.rejects(tool(skopeo, ['copy', '--dest-tls-verify=false', '--dest-creds', 'alice:wrong', `oci:${image.dir}:v1`, `docker://${registry.host}/basic/app:v2`]));
    await assert.rejects(tool(skopeo, ['inspect', '--tls-verify=false', '--no-creds', `docker://${registry.host}/basic/app:v1`]));
  }
  await berth(['copy', '-q', '--dest-tls-verify=false', '--dest-creds', 'alice:s3cret', `oci:${image.dir}:v1`, `docker://${registry.host}/basic/berth:v1`]);
  const tags = await berth(['list-tags', '--tls-verify=false', '--creds', 'alice:s3cret', `docker://${registry.host}/basic/berth`]);
  assert.deepEqual((JSON.parse(tags) as { Tags: string[] }).Tags, ['v1']);
  await assert.rejects(berth(['list-tags', '--tls-verify=false', '--creds', 'alice:nope', `docker://${registry.host}/basic/berth`]));
});

test('token auth: the built-in issuer grants per-repository rights and the registry enforces them', async (t) => {
  const work = tempDir(t);
  const config = join(work, 'token-auth.json');
  writeFileSync(config, JSON.stringify({
    users: {
      alice: bcrypt.hashSync('alice-pw', 4),
      bob: bcrypt.hashSync('bob-pw', 4).replace(/^\$2b\$/, '$2y$'),
    },
    access: [
      { account: 'alice', repository: 'team/*', actions: ['pull', 'push', 'delete'] },
      { account: 'alice', catalog: true },
      { account: 'bob', repository: 'team/*', actions: ['pull'] },
      { account: '*', repository: 'scratch/*', actions: ['*'] },
      { account: 'anonymous', repository: 'public/*', actions: ['pull'] },
    ],
  }));
  const registry = await startBerth(join(work, 'root'), { auth: { mode: 'token', configFile: config } });
  t.after(() => registry.close());

  const challenge = await fetch(`${registry.url}/v2/`);
  assert.equal(challenge.status, 401);
  const header = challenge.headers.get('www-authenticate') ?? '';
  const realm = /realm="([^"]+)"/.exec(header)?.[1];
  const service = /service="([^"]+)"/.exec(header)?.[1];
  assert.ok(realm && service, `Bearer challenge names realm and service: ${header}`);

  const token = async (scope: string, user?: [string, string]): Promise<string> => {
    const url = new URL(realm);
    url.searchParams.set('service', service);
    url.searchParams.set('scope', scope);
    const res = await fetch(url, user ? { headers: { Authorization: basic(...user) } } : {});
    assert.equal(res.status, 200, `token for ${scope}`);
    const body = (await res.json()) as { token: string; access_token: string; expires_in: number };
    assert.equal(body.token, body.access_token);
    assert.ok(body.expires_in > 0);
    return body.token;
  };
  const call = (path: string, bearer: string, init: RequestInit = {}) => fetch(`${registry.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${bearer}` } });

  const badPassword = await fetch(`${realm}?service=${service}&scope=repository:team/app:pull`, { headers: { Authorization: basic('alice', 'nope') } });
  assert.equal(badPassword.status, 401, 'the token endpoint refuses a wrong password');

  const oauth = await fetch(realm, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'alice', password: 'alice-pw', service, scope: 'repository:team/app:pull' }) });
  assert.equal(oauth.status, 200, 'the OAuth2 password grant works too');
  const oauthToken = ((await oauth.json()) as { access_token: string }).access_token;
  assert.notEqual((await fetch(`${registry.url}/v2/team/app/tags/list`, { headers: { Authorization: `Bearer ${oauthToken}` } })).status, 401);
  const badGrant = await fetch(realm, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'alice', password: 'nope', service }) });
  assert.equal(badGrant.status, 401);
  const refresh = await fetch(realm, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x', service }) });
  assert.equal(refresh.status, 400);

  const alicePush = await token('repository:team/app:pull,push', ['alice', 'alice-pw']);
  const upload = await call('/v2/team/app/blobs/uploads/', alicePush, { method: 'POST' });
  assert.equal(upload.status, 202, 'alice may push to team/*');

  const bobPush = await token('repository:team/app:pull,push', ['bob', 'bob-pw']);
  const bobUpload = await call('/v2/team/app/blobs/uploads/', bobPush, { method: 'POST' });
  assert.equal(bobUpload.status, 401, 'bob only got pull, so his push is refused');
  assert.match(bobUpload.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
  const bobPull = await call('/v2/team/app/tags/list', bobPush);
  assert.notEqual(bobPull.status, 401, 'but his pull right works');
  const bobElsewhere = await call('/v2/other/app/tags/list', bobPush);
  assert.equal(bobElsewhere.status, 401, 'a token for team/app is worthless for other/app');

  const anonymousTeam = await token('repository:team/app:pull');
  assert.equal((await call('/v2/team/app/tags/list', anonymousTeam)).status, 401);
  const anonymousPublic = await token('repository:public/app:pull,push');
  assert.notEqual((await call('/v2/public/app/tags/list', anonymousPublic)).status, 401, 'anonymous may pull public/*');
  assert.equal((await call('/v2/public/app/blobs/uploads/', anonymousPublic, { method: 'POST' })).status, 401, 'but not push');

  const tampered = alicePush.slice(0, -4) + (alicePush.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  assert.equal((await call('/v2/team/app/tags/list', tampered)).status, 401, 'a token with a forged signature is refused');
  const [head, , sig] = alicePush.split('.');
  const claims = JSON.parse(Buffer.from(alicePush.split('.')[1]!, 'base64url').toString()) as { access: { name: string }[] };
  claims.access[0]!.name = 'other/app';
  const forged = `${head}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
  assert.equal((await call('/v2/other/app/tags/list', forged)).status, 401, 'edited claims break the signature');

  const aliceCatalog = await token('registry:catalog:*', ['alice', 'alice-pw']);
  assert.equal((await call('/v2/_catalog', aliceCatalog)).status, 200);
  const bobCatalog = await token('registry:catalog:*', ['bob', 'bob-pw']);
  assert.equal((await call('/v2/_catalog', bobCatalog)).status, 401);

  // Real clients through the whole challenge → token → retry flow.
  const image = await buildRandomLayout(join(work, 'layout'), 'v1', [{ 'hello.txt': 64 }]);
  const skopeo = which('skopeo') ?? peer(t, 'skopeo');
  if (skopeo) {
    await tool(skopeo, ['copy', '--dest-tls-verify=false', '--dest-creds', 'alice:alice-pw', `oci:${image.dir}:v1`, `docker://${registry.host}/team/app:v1`]);
    const inspected = JSON.parse(await tool(skopeo, ['inspect', '--tls-verify=false', '--creds', 'bob:bob-pw', `docker://${registry.host}/team/app:v1`])) as { Digest: string };
    assert.equal(inspected.Digest, image.manifest.digest);
    await assert.rejects(tool(skopeo, ['copy', '--dest-tls-verify=false', '--dest-creds', 'bob:bob-pw', `oci:${image.dir}:v1`, `docker://${registry.host}/team/bob:v1`]), 'bob cannot push');
    await assert.rejects(tool(skopeo, ['delete', '--tls-verify=false', '--creds', 'bob:bob-pw', `docker://${registry.host}/team/app:v1`]), 'bob cannot delete');
    await tool(skopeo, ['copy', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', 'alice:alice-pw', '--dest-creds', 'bob:bob-pw', `docker://${registry.host}/team/app:v1`, `docker://${registry.host}/scratch/app:v1`]);
    await tool(skopeo, ['delete', '--tls-verify=false', '--creds', 'alice:alice-pw', `docker://${registry.host}/team/app:v1`]);
  }
  await berth(['copy', '-q', '--dest-tls-verify=false', '--dest-creds', 'alice:alice-pw', `oci:${image.dir}:v1`, `docker://${registry.host}/team/berth:v1`]);
  const tags = await berth(['list-tags', '--tls-verify=false', '--creds', 'bob:bob-pw', `docker://${registry.host}/team/berth`]);
  assert.deepEqual((JSON.parse(tags) as { Tags: string[] }).Tags, ['v1']);
  await assert.rejects(berth(['copy', '-q', '--dest-tls-verify=false', '--dest-creds', 'bob:bob-pw', `oci:${image.dir}:v1`, `docker://${registry.host}/team/berth:v2`]), 'berth as bob cannot push either');

  const alive = await fetch(`${registry.url}/v2/`);
  assert.equal(alive.status, 401, 'the server still answers after all refusals');
});

test('no auth: berth copy and list-tags against the embedded registry', async (t) => {
  const work = tempDir(t);
  const registry = await startBerth(join(work, 'root'));
  t.after(() => registry.close());
  const image = await buildRandomLayout(join(work, 'layout'), 'v1', [{ a: 1000 }, { b: 2000 }]);
  await berth(['copy', '-q', '--dest-tls-verify=false', `oci:${image.dir}:v1`, `docker://${registry.host}/plain/app:v1`]);
  const res = await fetch(`${registry.url}/v2/plain/app/manifests/v1`, { method: 'HEAD' });
  assert.equal(res.headers.get('docker-content-digest'), image.manifest.digest);
  await berth(['copy', '-q', '--src-tls-verify=false', `docker://${registry.host}/plain/app:v1`, `oci:${join(work, 'back')}:v1`]);
  const tags = await berth(['list-tags', '--tls-verify=false', `docker://${registry.host}/plain/app`]);
  assert.deepEqual((JSON.parse(tags) as { Tags: string[] }).Tags, ['v1']);
});
