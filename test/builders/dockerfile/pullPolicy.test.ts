import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeBaseImage } from '../../../fixtures/base-image/makeBaseImage.js';
import { startRegistryServer } from '../../../registry/server/startRegistryServer.js';
import { isRoot, tempDir } from '../../support/peers.js';
import { berthAsync } from '../../support/runCli.js';

test('build --pull: missing takes the store\'s copy of FROM, always pulls the tag again (once per build), never reads only the store', async (t) => {
  if (!isRoot()) return t.skip('builds run as root here');
  const dir = tempDir(t, 'berth-pull-policy-');
  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'registry') });
  t.after(() => server.close());
  const env = { BERTH_ROOT: join(dir, 'root') };
  const publish = async (version: string) => {
    await makeBaseImage(join(dir, version), { tag: 'bb', extraFiles: { 'etc/base-version': `${version}\n` } });
    const pushed = await berthAsync(['copy', '-q', '--dest-tls-verify=false', `oci:${join(dir, version)}:bb`, `docker://${server.host}/lib/base:1`]);
    assert.equal(pushed.status, 0, pushed.stderr);
  };
  await publish('v1');
  const context = join(dir, 'ctx');
  mkdirSync(context);
  writeFileSync(join(context, 'Dockerfile'), `FROM ${server.host}/lib/base:1 AS base\nFROM base\nCOPY Dockerfile /\n`);
  const build = async (name: string, ...flags: string[]) => {
    const r = await berthAsync(['build', '--tls-verify=false', ...flags, '-t', `oci:${join(dir, 'out')}:${name}`, context], { env });
    if (r.status !== 0) return { r, version: undefined };
    assert.equal((await berthAsync(['unpack', `oci:${join(dir, 'out')}:${name}`, join(dir, `files-${name}`)], { env })).status, 0);
    return { r, version: readFileSync(join(dir, `files-${name}`, 'rootfs', 'etc', 'base-version'), 'utf8').trim() };
  };
  assert.equal((await build('first')).version, 'v1', 'missing from the store: pulled');
  await publish('v2');
  assert.equal((await build('missing')).version, 'v1', 'in the store: not pulled again');
  assert.equal((await build('never', '--pull=never')).version, 'v1');
  const always = await build('always', '--pull=always');
  assert.equal(always.version, 'v2', 'always: the tag is pulled again');
  assert.equal(always.r.stderr.match(/pulling docker:\/\//g)?.length, 1, `pulled once for the build: ${always.r.stderr}`);
  assert.equal((await build('after', '--pull')).version, 'v2', 'a bare --pull is always');

  writeFileSync(join(context, 'Dockerfile'), `FROM ${server.host}/lib/other:1\n`);
  const never = await build('missing-never', '--pull=never');
  assert.equal(never.r.status, 3);
  assert.match(never.r.stderr, new RegExp(`berth: ${server.host}/lib/other:1 is not in the local store, and --pull=never forbids pulling it\\n$`));
  const bad = await build('bad', '--pull=sometimes');
  assert.equal(bad.r.stderr, 'berth: build: --pull takes always, missing, never or newer, not "sometimes"\n');
  assert.ok(!existsSync(join(dir, 'files-missing-never')));
});
