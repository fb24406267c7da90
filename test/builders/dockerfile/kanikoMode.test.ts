import assert from 'node:assert/strict';
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { makeBaseImage } from '../../../fixtures/base-image/makeBaseImage.js';
import { runningInContainer } from '../../../builders/dockerfile/isolation.js';
import { startRegistryServer } from '../../../registry/server/startRegistryServer.js';
import { treeOf } from '../../support/fileTrees.js';
import { isRoot, peer, tempDir } from '../../support/peers.js';
import { podContainer } from '../../support/podContainer.js';
import { berthAsync } from '../../support/runCli.js';

const fixture = new URL('../../../../fixtures/kaniko-mode/', import.meta.url).pathname;
const compared = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'Labels', 'ExposedPorts', 'Volumes'];

/** A registry on loopback holding the busybox base, a context with the fixture, and a secret beside it. */
async function workspace(t: TestContext) {
  const dir = tempDir(t, 'berth-kaniko-');
  await makeBaseImage(join(dir, 'base'), { tag: 'bb' });
  const registry = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'registry') });
  t.after(() => registry.close());
  const pushed = await berthAsync(['copy', '-q', '--dest-tls-verify=false', `oci:${join(dir, 'base')}:bb`, `docker://${registry.host}/base:1`]);
  assert.equal(pushed.status, 0, pushed.stderr);
  const work = join(dir, 'workspace');
  cpSync(fixture, join(work, 'ctx'), { recursive: true });
  writeFileSync(join(work, 'secret'), 'top-secret-1234');
  return { dir, work, host: registry.host, base: `${registry.host}/base:1` };
}

async function unpacked(dir: string, image: string, name: string): Promise<{ files: Map<string, string>; root: string; config: Record<string, unknown> }> {
  const out = join(dir, name);
  const r = await berthAsync(['unpack', '--tls-verify=false', image, out]);
  assert.equal(r.status, 0, r.stderr);
  const inspected = await berthAsync(['inspect', '--config', '--tls-verify=false', image]);
  assert.equal(inspected.status, 0, inspected.stderr);
  const config = (JSON.parse(inspected.stdout) as { config: Record<string, unknown> }).config;
  return { files: treeOf(join(out, 'rootfs')), root: join(out, 'rootfs'), config };
}

for (const runtime of ['berth-runc', 'runc'] as const) {
  test(`kaniko mode in a pod-like container (${runtime}, default capabilities, no_new_privileges): a multi-stage build with a heredoc, a cache mount and a secret equals the same build with --isolation container`, async (t) => {
    if (!isRoot()) return t.skip('containers need root');
    const runtimeBin = runtime === 'runc' ? peer(t, 'runc') : undefined;
    if (runtime === 'runc' && !runtimeBin) return;
    const w = await workspace(t);
    const pod = podContainer(join(w.dir, 'pods'), runtimeBin);
    const common = ['--tls-verify=false', '--build-arg', `BASE=${w.base}`];
    const inPod = await pod.berth(['build', '--isolation', 'none', ...common, '--secret', 'id=tok,src=/workspace/secret', '-t', `docker://${w.host}/app:pod`, '/workspace/ctx'], { binds: { '/workspace': w.work } });
    assert.equal(inPod.status, 0, inPod.stderr);
    assert.match(inPod.stderr, /^isolation: none/m);
    const outside = await berthAsync(['build', '--isolation', 'container', ...common, '--secret', `id=tok,src=${join(w.work, 'secret')}`, '-t', `docker://${w.host}/app:host`, join(w.work, 'ctx')], { env: { BERTH_ROOT: join(w.dir, 'host-root') } });
    assert.equal(outside.status, 0, outside.stderr);

    const ours = await unpacked(w.dir, `docker://${w.host}/app:pod`, 'pod-image');
    const theirs = await unpacked(w.dir, `docker://${w.host}/app:host`, 'host-image');
    const differences = [...new Set([...ours.files.keys(), ...theirs.files.keys()])].filter((p) => ours.files.get(p) !== theirs.files.get(p));
    assert.deepEqual(differences.map((p) => `${p}: pod ${ours.files.get(p) ?? '(absent)'} | container ${theirs.files.get(p) ?? '(absent)'}`), []);
    for (const key of compared) assert.deepEqual(ours.config[key], theirs.config[key], key);

    const read = (path: string) => readFileSync(join(ours.root, path), 'utf8');
    assert.equal(read('opt/out/artifact'), 'built\n');
    assert.equal(read('opt/out/token-length').trim(), '15');
    assert.equal(read('opt/out/cache-runs').trim(), '1');
    assert.equal(read('opt/out/app.txt'), 'app\n');
    assert.equal(existsSync(join(ours.root, 'bin/ls')), false, 'a deleted file is whited out');
    const hello = lstatSync(join(ours.root, 'hello'));
    assert.deepEqual([hello.mode & 0o7777, hello.uid, hello.gid, hello.nlink], [0o640, 1, 1, 2]);
    for (const leak of ['run/secrets/tok', 'var/cache/demo/runs', 'berth-data', 'workspace', 'berth']) assert.equal(ours.files.has(leak), false, `${leak} is not in the image`);
  });
}

test('kaniko mode is refused where berth cannot tell it runs in a container, and a RUN it cannot isolate says why', async (t) => {
  const fake = tempDir(t, 'berth-host-');
  mkdirSync(join(fake, 'proc'));
  const hostMounts = join(fake, 'mountinfo');
  writeFileSync(hostMounts, '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n');
  assert.equal(runningInContainer({ root: fake, mountinfo: hostMounts, env: {} }), false);
  writeFileSync(hostMounts, '900 800 0:52 /var/lib/pods/x/rootfs / rw,relatime - ext4 /dev/vda rw\n');
  assert.equal(runningInContainer({ root: fake, mountinfo: hostMounts, env: {} }), true, 'a bind-mounted rootfs is a container');
  assert.equal(runningInContainer({ root: fake, mountinfo: join(fake, 'none'), env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' } }), true);
  if (!isRoot()) return;
  const w = await workspace(t);
  writeFileSync(join(w.work, 'ctx', 'Dockerfile.none'), `FROM ${w.base}\nRUN --network=none true\n`);
  const pod = podContainer(join(w.dir, 'pods'));
  const r = await pod.berth(['build', '--isolation', 'none', '--tls-verify=false', '-f', '/workspace/ctx/Dockerfile.none', '/workspace/ctx'], { binds: { '/workspace': w.work } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /RUN --network=none needs a network namespace/);
  const byDefault = await pod.berth(['build', '--tls-verify=false', '-f', '/workspace/ctx/Dockerfile.none', '/workspace/ctx'], { binds: { '/workspace': w.work } });
  assert.notEqual(byDefault.status, 0);
  assert.equal(byDefault.stderr.trim().split('\n').length, 1, byDefault.stderr);
  assert.match(byDefault.stderr, /--isolation none/);
});
