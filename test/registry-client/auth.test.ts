import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startRegistryServer } from '../../registry/server/index.js';
import { peer, tempDir } from '../support/peers.js';
import { buildRandomLayout } from '../support/ociImage.js';
import { berthAsync, ok, run } from '../support/runCli.js';
import { dockerRegistryFor } from '../support/dockerRegistry.js';
import { TokenGateway } from './support/tokenGateway.js';

/** An environment where berth and skopeo find no credentials but those the test puts there. */
function isolatedEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = join(dir, 'home');
  mkdirSync(join(home, 'run'), { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_RUNTIME_DIR: join(home, 'run'), XDG_CONFIG_HOME: join(home, '.config'), DOCKER_CONFIG: join(home, '.docker'), ...extra };
  // Undefined rather than deleted: the runner then unsets it instead of inheriting the caller's.
  env.REGISTRY_AUTH_FILE = undefined;
  return env;
}

function bcryptLine(htpasswd: string, user: string, password: string): string {
  return execFileSync(htpasswd, ['-Bbn', user, password], { encoding: 'utf8' }).trim();
}

test('htpasswd Basic auth on docker-registry: --creds, login/logout files shared with skopeo', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const htpasswd = peer(t, 'htpasswd');
  if (!skopeo || !htpasswd) return;
  const dir = tempDir(t);
  const file = join(dir, 'htpasswd');
  writeFileSync(file, `${bcryptLine(htpasswd, 'alice', 's3cret')}\n`);
  const setup = await dockerRegistryFor(t, { htpasswdFile: file });
  if (!setup) return;
  const host = setup.registry.host;
  const env = isolatedEnv(dir);
  await buildRandomLayout(join(dir, 'layout'), 'v1');

  const anonymous = await berthAsync(['copy', `oci:${join(dir, 'layout')}:v1`, `docker://${host}/private/app:v1`], { env });
  assert.equal(anonymous.status, 4, anonymous.stderr);
  assert.match(anonymous.stderr, /^berth: registry .*(authentication required|unauthorized).*\n$/i);

  await ok(berthAsync(['copy', '--dest-creds', 'alice:s3cret', `oci:${join(dir, 'layout')}:v1`, `docker://${host}/private/app:v1`], { env }), 'push with --dest-creds');
  const wrong = await berthAsync(['inspect', '--creds', 'alice:nope', `docker://${host}/private/app:v1`], { env });
  assert.equal(wrong.status, 4);

  // berth login writes the file skopeo reads; skopeo login writes the file berth reads.
  const authFile = join(dir, 'auth.json');
  const badLogin = await berthAsync(['login', '--authfile', authFile, '-u', 'alice', '-p', 'wrong', host], { env });
  assert.equal(badLogin.status, 4);
  assert.equal(existsSync(authFile), false, 'a failed login stores nothing');
  await ok(berthAsync(['login', '--authfile', authFile, '-u', 'alice', '-p', 's3cret', host], { env }), 'berth login');
  const stored = JSON.parse(readFileSync(authFile, 'utf8')) as { auths: Record<string, { auth: string }> };
  assert.equal(Buffer.from(stored.auths[host]!.auth, 'base64').toString(), 'alice:s3cret');
  await ok(run(skopeo, ['inspect', '--tls-verify=false', '--authfile', authFile, `docker://${host}/private/app:v1`], { env }), 'skopeo reads berth login');
  await ok(berthAsync(['inspect', `docker://${host}/private/app:v1`], { env: { ...env, REGISTRY_AUTH_FILE: authFile } }), 'berth with REGISTRY_AUTH_FILE');
  const noCreds = await berthAsync(['inspect', '--no-creds', `docker://${host}/private/app:v1`], { env: { ...env, REGISTRY_AUTH_FILE: authFile } });
  assert.equal(noCreds.status, 4, '--no-creds ignores the auth file');
  const srcNoCreds = await berthAsync(['copy', '--src-no-creds', `docker://${host}/private/app:v1`, `oci:${join(dir, 'nocreds')}:v1`], { env: { ...env, REGISTRY_AUTH_FILE: authFile } });
  assert.equal(srcNoCreds.status, 4);
  const getLogin = await ok(berthAsync(['login', '--get-login', '--authfile', authFile, host], { env }), 'get-login');
  assert.equal(getLogin.stdout.trim(), 'alice');
  await ok(berthAsync(['logout', '--authfile', authFile, host], { env }), 'berth logout');
  const afterLogout = await berthAsync(['inspect', '--authfile', authFile, `docker://${host}/private/app:v1`], { env });
  assert.equal(afterLogout.status, 4);

  const skopeoFile = join(dir, 'skopeo-auth.json');
  await ok(run(skopeo, ['login', '--tls-verify=false', '--authfile', skopeoFile, '-u', 'alice', '-p', 's3cret', host], { env }), 'skopeo login');
  await ok(berthAsync(['inspect', '--authfile', skopeoFile, `docker://${host}/private/app:v1`], { env }), 'berth reads skopeo login');

  // The default file: $XDG_RUNTIME_DIR/containers/auth.json, as skopeo uses it.
  await ok(berthAsync(['login', '-u', 'alice', '--password-stdin', host], { env, input: 's3cret\n' }), 'login from stdin');
  assert.ok(existsSync(join(env.XDG_RUNTIME_DIR!, 'containers', 'auth.json')));
  await ok(run(skopeo, ['inspect', '--tls-verify=false', `docker://${host}/private/app:v1`], { env }), 'skopeo finds the default login');
  await ok(berthAsync(['inspect', `docker://${host}/private/app:v1`], { env }), 'berth finds the default login');
});

test('a real credential helper on PATH supplies credentials (credHelpers in docker config.json)', async (t) => {
  const htpasswd = peer(t, 'htpasswd');
  if (!htpasswd) return;
  const dir = tempDir(t);
  const file = join(dir, 'htpasswd');
  writeFileSync(file, `${bcryptLine(htpasswd, 'bob', 'helper-pass')}\n`);
  const setup = await dockerRegistryFor(t, { htpasswdFile: file });
  if (!setup) return;
  const host = setup.registry.host;
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const calls = join(dir, 'helper-calls');
  const store = join(dir, 'helper-store');
  // A docker credential helper in the protocol's own terms: action as argv[1], request on stdin, JSON on stdout.
  writeFileSync(
    join(bin, 'docker-credential-berthtest'),
    `#!/bin/sh
input=$(cat)
echo "$1 $input" >> ${calls}
case "$1" in
  get)
    if [ "$input" = "${host}" ]; then printf '{"ServerURL":"%s","Username":"bob","Secret":"helper-pass"}' "$input"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  store) echo "$input" > ${store} ;;
  erase) rm -f ${store} ;;
esac
`,
  );
  chmodSync(join(bin, 'docker-credential-berthtest'), 0o755);
  const env = isolatedEnv(dir, { PATH: `${bin}:${process.env.PATH}` });
  mkdirSync(env.DOCKER_CONFIG!, { recursive: true });
  writeFileSync(join(env.DOCKER_CONFIG!, 'config.json'), JSON.stringify({ credHelpers: { [host]: 'berthtest' } }));
  await buildRandomLayout(join(dir, 'layout'), 'v1');

  await ok(berthAsync(['copy', `oci:${join(dir, 'layout')}:v1`, `docker://${host}/helped/app:v1`], { env }), 'push with helper credentials');
  await ok(berthAsync(['inspect', `docker://${host}/helped/app:v1`], { env }), 'inspect with helper credentials');
  assert.match(readFileSync(calls, 'utf8'), new RegExp(`^get ${host.replace(/\./g, '\\.')}$`, 'm'));

  // login through the helper the config names; logout erases there.
  const authFile = join(dir, 'auth.json');
  writeFileSync(authFile, JSON.stringify({ credHelpers: { [host]: 'berthtest' } }));
  await ok(berthAsync(['login', '--authfile', authFile, '-u', 'bob', '-p', 'helper-pass', host], { env }), 'login via helper');
  assert.deepEqual(JSON.parse(readFileSync(store, 'utf8')), { ServerURL: host, Username: 'bob', Secret: 'helper-pass' });
  await ok(berthAsync(['logout', '--authfile', authFile, host], { env }), 'logout via helper');
  assert.equal(existsSync(store), false);

  const missingHelper = join(dir, 'missing.json');
  writeFileSync(missingHelper, JSON.stringify({ credHelpers: { [host]: 'nosuchhelper' } }));
  const missing = await berthAsync(['inspect', '--authfile', missingHelper, `docker://${host}/helped/app:v1`], { env });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /docker-credential-nosuchhelper is not on PATH/);
});

test('Bearer tokens from a token server (berth registry): scopes merged for cross-repository mounts; skopeo agrees', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const htpasswd = peer(t, 'htpasswd');
  if (!skopeo || !htpasswd) return;
  const dir = tempDir(t);
  const hash = bcryptLine(htpasswd, 'carol', 'tok-pass').split(':').slice(1).join(':');
  const server = await startRegistryServer({
    addr: '127.0.0.1:0',
    root: join(dir, 'root'),
    auth: { mode: 'token', config: { users: { carol: hash }, access: [{ account: 'carol', repository: '*', actions: ['pull', 'push', 'delete'] }, { account: 'anonymous', repository: 'public/*', actions: ['pull'] }] } },
  });
  t.after(() => server.close());
  const host = server.host;
  const env = isolatedEnv(dir);
  await buildRandomLayout(join(dir, 'layout'), 'v1', [{ file0: 4000 }, { file1: 300_000 }]);

  const denied = await berthAsync(['copy', `oci:${join(dir, 'layout')}:v1`, `docker://${host}/team/app:v1`], { env });
  assert.equal(denied.status, 4, denied.stderr);
  await ok(berthAsync(['copy', '--dest-creds', 'carol:tok-pass', `oci:${join(dir, 'layout')}:v1`, `docker://${host}/team/app:v1`], { env }), 'push with a token');
  const copied = JSON.parse((await ok(berthAsync(['copy', '--format', 'json', '--src-creds', 'carol:tok-pass', '--dest-creds', 'carol:tok-pass', `docker://${host}/team/app:v1`, `docker://${host}/public/app:v1`], { env }), 'mount copy')).stdout) as { blobsCopied: number; blobsReused: number };
  assert.equal(copied.blobsCopied, 0, 'blobs were mounted from team/app with a token scoped for both repositories');
  assert.equal(copied.blobsReused, 3);
  await ok(berthAsync(['inspect', `docker://${host}/public/app:v1`], { env }), 'anonymous pull of a public repository');
  const anonymousPrivate = await berthAsync(['inspect', `docker://${host}/team/app:v1`], { env });
  assert.equal(anonymousPrivate.status, 4);
  await ok(run(skopeo, ['inspect', '--tls-verify=false', '--creds', 'carol:tok-pass', `docker://${host}/team/app:v1`], { env }), 'skopeo reads through the token flow');

  // --registry-token: a token obtained elsewhere is used as is.
  const tokenRes = await fetch(`http://${host}/token?service=${encodeURIComponent('berth-registry')}&scope=repository:team/app:pull`, { headers: { authorization: `Basic ${Buffer.from('carol:tok-pass').toString('base64')}` } });
  const { token } = (await tokenRes.json()) as { token: string };
  await ok(berthAsync(['inspect', '--registry-token', token, `docker://${host}/team/app:v1`], { env }), 'inspect with --registry-token');
  const badToken = await berthAsync(['inspect', '--registry-token', 'not-a-token', `docker://${host}/team/app:v1`], { env });
  assert.equal(badToken.status, 4);
});

test('a token server of the test\'s own in front of docker-registry: password grant, refresh-token grant from auth.json identitytoken', async (t) => {
  const skopeo = peer(t, 'skopeo');
  const setup = await dockerRegistryFor(t);
  if (!skopeo || !setup) return;
  const { registry, dir } = setup;
  const gateway = await new TokenGateway({ port: registry.port }, { dave: 'pw' }, new Set(['refresh-abc'])).start();
  t.after(() => gateway.stop());
  const env = isolatedEnv(dir);
  await buildRandomLayout(join(dir, 'layout'), 'v1');

  await ok(berthAsync(['copy', '--dest-creds', 'dave:pw', `oci:${join(dir, 'layout')}:v1`, `docker://${gateway.host}/team/app:v1`], { env }), 'push through the token server');
  assert.ok(gateway.grants.some((g) => g.grant === 'password' && g.scopes.includes('repository:team/app:pull,push')));
  await ok(run(skopeo, ['inspect', '--tls-verify=false', '--creds', 'dave:pw', `docker://${gateway.host}/team/app:v1`], { env }), 'skopeo through the same token server');

  const authFile = join(dir, 'identity.json');
  writeFileSync(authFile, JSON.stringify({ auths: { [gateway.host]: { identitytoken: 'refresh-abc' } } }));
  gateway.grants.length = 0;
  await ok(berthAsync(['inspect', '--authfile', authFile, `docker://${gateway.host}/team/app:v1`], { env }), 'inspect with an identity token');
  assert.ok(gateway.grants.length > 0 && gateway.grants.every((g) => g.grant === 'refresh_token'));

  writeFileSync(authFile, JSON.stringify({ auths: { [gateway.host]: { identitytoken: 'revoked' } } }));
  const revoked = await berthAsync(['inspect', '--authfile', authFile, `docker://${gateway.host}/team/app:v1`], { env });
  assert.equal(revoked.status, 4);
  assert.match(revoked.stderr, /token server .* refused the credentials/);
});
