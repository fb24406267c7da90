import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeBaseImage } from '../../fixtures/base-image/makeBaseImage.js';
import { makeNodeBaseImage } from '../../fixtures/base-image/makeNodeBaseImage.js';
import { startRegistryServer } from '../../registry/server/startRegistryServer.js';
import { isRoot, tempDir } from '../support/peers.js';
import { berthAsync } from '../support/runCli.js';

const plainApp = new URL('../../../fixtures/node/plain-app/', import.meta.url).pathname;

test('both builders sign what they push (--sign-by-key, as copy signs), leave the local store unsigned, and refuse a destination that cannot hold a signature before writing any', async (t) => {
  if (!isRoot()) return t.skip('builds run as root here');
  const dir = tempDir(t, 'berth-signed-build-');
  const env = { BERTH_ROOT: join(dir, 'root'), COSIGN_PASSWORD: 'build-pass' };
  assert.equal((await berthAsync(['generate-key', '--output-prefix', join(dir, 'cosign')], { env })).status, 0);
  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'registry') });
  t.after(() => server.close());
  const signing = ['--sign-by-key', join(dir, 'cosign.key'), '--tls-verify=false'];
  const verify = (image: string) => berthAsync(['verify', '--tls-verify=false', '--key', join(dir, 'cosign.pub'), image], { env });

  const nodeBase = await makeNodeBaseImage(join(dir, 'node-base'));
  const node = await berthAsync(['build-node', '-q', '--base', nodeBase, ...signing, '-t', 'localhost/signed-node:1', '-t', `docker://${server.host}/team/node:1`, plainApp], { env });
  assert.equal(node.status, 0, node.stderr);
  assert.equal((await verify(`docker://${server.host}/team/node:1`)).status, 0);

  await makeBaseImage(join(dir, 'base'), { tag: 'bb' });
  const context = join(dir, 'ctx');
  mkdirSync(context);
  writeFileSync(join(context, 'hello.txt'), 'hello\n');
  writeFileSync(join(context, 'Dockerfile'), `FROM oci:${join(dir, 'base')}:bb\nCOPY hello.txt /\n`);
  const built = await berthAsync(['build', '-q', ...signing, '-t', `docker://${server.host}/team/df:1`, context], { env });
  assert.equal(built.status, 0, built.stderr);
  const verified = await verify(`docker://${server.host}/team/df:1`);
  assert.equal(verified.status, 0, verified.stderr);
  // Without the signature step the same image does not verify: the signature is the build's, not a leftover.
  const unsigned = await berthAsync(['build', '-q', '--tls-verify=false', '-t', `docker://${server.host}/team/unsigned:1`, context], { env });
  assert.equal(unsigned.status, 0, unsigned.stderr);
  assert.notEqual((await verify(`docker://${server.host}/team/unsigned:1`)).status, 0);

  // A docker-archive cannot hold a cosign signature: refused in one line before the registry tag is written either.
  const archive = join(dir, 'image.tar');
  const refused = await berthAsync(['build', '-q', ...signing, '-t', `docker://${server.host}/team/never:1`, '-t', `docker-archive:${archive}:x/y:1`, context], { env });
  assert.notEqual(refused.status, 0);
  assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  assert.ok(!existsSync(archive));
  const tags = await berthAsync(['list-tags', '--tls-verify=false', `docker://${server.host}/team/never`], { env });
  assert.notEqual(tags.status, 0, 'the registry tag was not written either');
});
