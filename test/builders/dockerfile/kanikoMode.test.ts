import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { makeBaseImage } from '../../../fixtures/base-image/makeBaseImage.js';
import { runningInContainer } from '../../../builders/dockerfile/isolation.js';
import { startRegistryServer } from '../../../registry/server/startRegistryServer.js';
import { treeOf } from '../../support/fileTrees.js';
import { dockerRegistryFor } from '../../support/dockerRegistry.js';
import { isRoot, peer, tempDir } from '../../support/peers.js';
import { POD_CAPABILITIES, podContainer } from '../../support/podContainer.js';
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
  // git keeps no directory modes: the one COPY must carry is set here.
  chmodSync(join(work, 'ctx', 'tree', 'sub'), 0o750);
  writeFileSync(join(work, 'secret'), 'top-secret-1234');
  return { dir, work, host: registry.host, base: `${registry.host}/base:1` };
}

async function unpacked(dir: string, image: string, name: string, extra: string[] = []): Promise<{ files: Map<string, string>; root: string; config: Record<string, unknown> }> {
  const out = join(dir, name);
  const r = await berthAsync(['unpack', '--tls-verify=false', ...extra, image, out]);
  assert.equal(r.status, 0, r.stderr);
  const inspected = await berthAsync(['inspect', '--config', '--tls-verify=false', ...extra, image]);
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
    const chrootOutside = await berthAsync(['build', '--isolation', 'chroot', ...common, '--secret', `id=tok,src=${join(w.work, 'secret')}`, '-t', `docker://${w.host}/app:chroot`, join(w.work, 'ctx')], { env: { BERTH_ROOT: join(w.dir, 'chroot-root') } });
    assert.equal(chrootOutside.status, 0, chrootOutside.stderr);
    assert.deepEqual(readdirSync(join(w.dir, 'chroot-root', 'build-cache')).filter((n) => n.startsWith('chroot-')), [], 'the chroot directory is removed');

    const ours = await unpacked(w.dir, `docker://${w.host}/app:pod`, 'pod-image');
    const theirs = await unpacked(w.dir, `docker://${w.host}/app:host`, 'host-image');
    const differences = [...new Set([...ours.files.keys(), ...theirs.files.keys()])].filter((p) => ours.files.get(p) !== theirs.files.get(p));
    assert.deepEqual(differences.map((p) => `${p}: pod ${ours.files.get(p) ?? '(absent)'} | container ${theirs.files.get(p) ?? '(absent)'}`), []);
    for (const key of compared) assert.deepEqual(ours.config[key], theirs.config[key], key);
    const chrooted = await unpacked(w.dir, `docker://${w.host}/app:chroot`, 'chroot-image');
    assert.deepEqual([...chrooted.files].filter(([p, v]) => theirs.files.get(p) !== v), [], '--isolation chroot gives the same files');
    assert.equal(chrooted.files.size, theirs.files.size);

    const read = (path: string) => readFileSync(join(ours.root, path), 'utf8');
    assert.equal(read('opt/out/artifact'), 'built\n');
    assert.equal(read('opt/out/token-length').trim(), '15');
    assert.equal(read('opt/out/cache-runs').trim(), '1');
    assert.equal(read('opt/out/app.txt'), 'app\n');
    assert.equal(existsSync(join(ours.root, 'bin/ls')), false, 'a deleted file is whited out');
    const copied = (path: string) => lstatSync(join(ours.root, 'opt/tree', path));
    assert.deepEqual(['', 'a.txt', 'sub', 'sub/b.txt', 'link'].map((p) => [copied(p).uid, copied(p).gid]), Array(5).fill([2, 2]), 'COPY --chown reaches every entry');
    assert.equal(copied('sub').mode & 0o7777, 0o750);
    assert.equal(readFileSync(join(ours.root, 'opt/tree/link'), 'utf8'), 'a\n');
    const hello = lstatSync(join(ours.root, 'hello'));
    assert.deepEqual([hello.mode & 0o7777, hello.uid, hello.gid, hello.nlink], [0o640, 1, 1, 2]);
    for (const leak of ['run/secrets/tok', 'var/cache/demo/runs', 'berth-data', 'workspace', 'berth']) assert.equal(ours.files.has(leak), false, `${leak} is not in the image`);
  });
}

test('kaniko mode is refused where berth cannot tell it runs in a container; a RUN it cannot isolate, or a pod that cannot chroot, says why', async (t) => {
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
  const hostLike = await pod.berth(['build', '--isolation', 'none', '--tls-verify=false', '-f', '/workspace/ctx/Dockerfile.none', '/workspace/ctx'], { binds: { '/workspace': w.work }, rootFilesystem: 'tmpfs' });
  assert.notEqual(hostLike.status, 0);
  assert.equal(hostLike.stderr.trim(), 'berth: build: --isolation none replaces the root filesystem and is only for a build inside a container (a CI pod); this does not look like one (use --force if it is)');
  const noChroot = POD_CAPABILITIES.filter((c) => c !== 'CAP_SYS_CHROOT');
  const byDefault = await pod.berth(['build', '--tls-verify=false', '-f', '/workspace/ctx/Dockerfile.none', '/workspace/ctx'], { binds: { '/workspace': w.work }, capabilities: noChroot });
  assert.notEqual(byDefault.status, 0);
  assert.equal(byDefault.stderr.trim().split('\n').length, 1, byDefault.stderr);
  assert.match(byDefault.stderr, /--isolation none/);
  // GitLab's kaniko jobs call /kaniko/executor from a shell: berth's image answers there too.
  const gitlab = await pod.berth(['-c', '/kaniko/executor --context /workspace/ctx --single-snapshot --destination example.com/app:1'], { entrypoint: ['/bin/sh'], binds: { '/workspace': w.work } });
  assert.notEqual(gitlab.status, 0);
  assert.equal(gitlab.stderr.trim(), 'berth: executor: --single-snapshot: berth writes one layer per step; a single snapshot of the whole build is not supported');
});

test('the pod\'s default isolation is chroot (Docker\'s capabilities: CAP_SYS_CHROOT, no CAP_SYS_ADMIN), said on the first line, and it builds RUN steps with a cache mount and a secret', async (t) => {
  if (!isRoot()) return t.skip('containers need root');
  const w = await workspace(t);
  writeFileSync(join(w.work, 'ctx', 'Dockerfile.chroot'), [
    `FROM ${w.base}`,
    'RUN --mount=type=cache,target=/var/cache/c echo x >> /var/cache/c/n && wc -l < /var/cache/c/n > /count',
    'RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /length && rm /bin/ls && id -u > /uid',
    'USER 1:1',
    'RUN id -u > /tmp/uid-of-user',
    '',
  ].join('\n'));
  const r = await podContainer(join(w.dir, 'pods')).berth(['build', '--tls-verify=false', '--secret', 'id=tok,src=/workspace/secret', '-f', '/workspace/ctx/Dockerfile.chroot', '-t', `docker://${w.host}/app:chroot`, '/workspace/ctx'], { binds: { '/workspace': w.work } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr.split('\n')[0]!, /^isolation: chroot \(.*no \/proc/);
  const files = await unpacked(w.dir, `docker://${w.host}/app:chroot`, 'chroot');
  const read = (path: string) => readFileSync(join(files.root, path), 'utf8').trim();
  assert.deepEqual([read('count'), read('length'), read('uid'), read('tmp/uid-of-user')], ['1', '15', '0', '1']);
  assert.equal(existsSync(join(files.root, 'bin/ls')), false);
  for (const leak of ['run/secrets/tok', 'var/cache/c/n', 'dev/null', 'berth-data']) assert.equal(files.files.has(leak), false, `${leak} is not in the image`);
  // The multi-stage fixture (heredoc scripts, a cache mount, a secret, COPY --chown of a tree) builds there too.
  const fixtureBuild = await podContainer(join(w.dir, 'pods-fixture')).berth(['build', '--tls-verify=false', '--build-arg', `BASE=${w.base}`, '--secret', 'id=tok,src=/workspace/secret', '-t', `docker://${w.host}/app:chroot-fixture`, '/workspace/ctx'], { binds: { '/workspace': w.work } });
  assert.equal(fixtureBuild.status, 0, fixtureBuild.stderr);
  const fixtureFiles = await unpacked(w.dir, `docker://${w.host}/app:chroot-fixture`, 'chroot-fixture');
  const fixtureRead = (path: string) => readFileSync(join(fixtureFiles.root, path), 'utf8').trim();
  assert.deepEqual(['opt/out/artifact', 'opt/out/token-length', 'opt/out/cache-runs', 'hello'].map(fixtureRead), ['built', '15', '1', 'hi']);
  assert.equal(existsSync(join(fixtureFiles.root, 'bin/ls')), false);
});

/** Steps that hit the cache (a multi-stage build outside a pod prefixes each line with its stage). */
const usingCache = (stderr: string) => stderr.split('\n').filter((l) => /^(\[[^\]]+\] )?--> Using cache$/.test(l)).length;
/** Steps of the fixture that make a layer: RUN, RUN, COPY (stage build); COPY --from, RUN, WORKDIR, COPY (final stage). */
const LAYER_STEPS = 7;

for (const server of ['berth', 'docker-registry'] as const) {
  test(`--cache-repo on ${server}: a fresh pod with an empty disk hits every step; a changed input misses from there; a corrupt entry is a miss and a warning`, async (t) => {
    if (!isRoot()) return t.skip('containers need root');
    const w = await workspace(t);
    // The cache has a registry of its own: corrupting its storage must not touch the images the builds push.
    const cacheRegistry = await startRegistryServer({ addr: '127.0.0.1:0', root: join(w.dir, 'cache-registry') });
    t.after(() => cacheRegistry.close());
    let cacheHost = cacheRegistry.host;
    let blobFile = (hex: string) => join(w.dir, 'cache-registry', 'blobs', 'sha256', hex.slice(0, 2), hex);
    if (server === 'docker-registry') {
      const peerRegistry = await dockerRegistryFor(t);
      if (!peerRegistry) return;
      cacheHost = peerRegistry.registry.host;
      blobFile = (hex) => join(peerRegistry.dir, 'storage', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    }
    const build = (tag: string) => podContainer(join(w.dir, `pods-${tag}`)).berth(
      ['build', '--isolation', 'none', '--tls-verify=false', '--timestamp', '1700000000', '--build-arg', `BASE=${w.base}`, '--secret', 'id=tok,src=/workspace/secret', '--cache-repo', `${cacheHost}/team/cache`, '-t', `docker://${w.host}/app:${tag}`, '/workspace/ctx'],
      { binds: { '/workspace': w.work } },
    );
    const first = await build('one');
    assert.equal(first.status, 0, first.stderr);
    assert.equal(usingCache(first.stderr), 0);
    const second = await build('two');
    assert.equal(second.status, 0, second.stderr);
    assert.equal(usingCache(second.stderr), LAYER_STEPS, second.stderr);
    const digest = async (tag: string) => (await berthAsync(['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${w.host}/app:${tag}`])).stdout.trim();
    assert.equal(await digest('two'), await digest('one'), 'hits give the same image');

    writeFileSync(join(w.work, 'ctx', 'app.txt'), 'app, edited\n');
    const edited = await build('three');
    assert.equal(edited.status, 0, edited.stderr);
    assert.equal(usingCache(edited.stderr), 2, 'the two RUN steps before the COPY hit, everything from the COPY on misses');
    const files = await unpacked(w.dir, `docker://${w.host}/app:three`, 'three');
    assert.equal(readFileSync(join(files.root, 'opt/out/app.txt'), 'utf8'), 'app, edited\n');
    // A build on overlays takes the same entries, their layers turned back into trees that later steps stack: here
    // the two RUN steps hit, and the edited COPY and the next stage read through them.
    writeFileSync(join(w.work, 'ctx', 'app.txt'), 'app, edited twice\n');
    const onHost = await berthAsync(
      ['build', '--isolation', 'container', '--tls-verify=false', '--timestamp', '1700000000', '--build-arg', `BASE=${w.base}`, '--secret', `id=tok,src=${join(w.work, 'secret')}`, '--cache-repo', `${cacheHost}/team/cache`, '-t', `docker://${w.host}/app:host`, join(w.work, 'ctx')],
      { env: { BERTH_ROOT: join(w.dir, 'host-root') } },
    );
    assert.equal(onHost.status, 0, onHost.stderr);
    assert.equal(usingCache(onHost.stderr), 2);
    const hostFiles = await unpacked(w.dir, `docker://${w.host}/app:host`, 'host');
    assert.equal(readFileSync(join(hostFiles.root, 'opt/out/app.txt'), 'utf8'), 'app, edited twice\n');
    assert.equal(readFileSync(join(hostFiles.root, 'opt/out/artifact'), 'utf8'), 'built\n');
    assert.equal(readFileSync(join(hostFiles.root, 'opt/out/token-length'), 'utf8').trim(), '15');
    assert.equal(existsSync(join(hostFiles.root, 'bin/ls')), false);

    // Corrupt every cached layer of the first build's chain: the bytes no longer match their digests.
    writeFileSync(join(w.work, 'ctx', 'app.txt'), 'app\n');
    const manifest = JSON.parse((await berthAsync(['inspect', '--raw', '--tls-verify=false', `docker://${w.host}/app:one`])).stdout) as { layers: { digest: string }[] };
    for (const layer of manifest.layers.slice(1)) {
      const file = blobFile(layer.digest.slice('sha256:'.length));
      if (existsSync(file)) writeFileSync(file, Buffer.alloc(lstatSync(file).size, 0x61));
    }
    const corrupt = await build('four');
    assert.equal(corrupt.status, 0, corrupt.stderr);
    assert.match(corrupt.stderr, /warning: cache entry .* is unusable/);
    const rebuilt = await unpacked(w.dir, `docker://${w.host}/app:four`, 'four');
    assert.equal(readFileSync(join(rebuilt.root, 'opt/out/app.txt'), 'utf8'), 'app\n');
    assert.equal(readFileSync(join(rebuilt.root, 'hello'), 'utf8'), 'hi\n');
  });
}

test('a cache repository that does not answer is a warning, and the build goes on without it', async (t) => {
  if (!isRoot()) return t.skip('containers need root');
  const w = await workspace(t);
  // A port that was just free: nothing answers there (connection refused).
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const r = await podContainer(join(w.dir, 'pods')).berth(
    ['build', '--isolation', 'none', '--tls-verify=false', '--build-arg', `BASE=${w.base}`, '--secret', 'id=tok,src=/workspace/secret', '--cache-repo', `127.0.0.1:${port}/cache`, '-t', `docker://${w.host}/app:1`, '/workspace/ctx'],
    { binds: { '/workspace': w.work } },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.split('\n').filter((l) => l.includes(`the cache repository docker://127.0.0.1:${port}/cache`)).length, 1, r.stderr);
});

test('a kaniko command line from kaniko\'s README builds unchanged in the pod, with credentials from /kaniko/.docker/config.json', async (t) => {
  if (!isRoot()) return t.skip('containers need root');
  const w = await workspace(t);
  const htpasswd = join(w.dir, 'htpasswd');
  writeFileSync(htpasswd, `ci:${bcrypt.hashSync('s3cret', 4).replace(/^\$2b\$/, '$2y$')}\n`);
  const locked = await startRegistryServer({ addr: '127.0.0.1:0', root: join(w.dir, 'locked'), auth: { mode: 'htpasswd', file: htpasswd } });
  t.after(() => locked.close());
  const dockerDir = join(w.dir, 'kaniko-docker');
  mkdirSync(dockerDir);
  writeFileSync(join(dockerDir, 'config.json'), JSON.stringify({ auths: { [locked.host]: { auth: Buffer.from('ci:s3cret').toString('base64') } } }));
  writeFileSync(join(w.work, 'Dockerfile'), `FROM ${w.base}\nRUN echo from-kaniko > /k\nCOPY ctx/app.txt /app.txt\n`);
  const destination = `${locked.host}/team/app:kaniko`;
  const r = await podContainer(join(w.dir, 'pods')).berth(
    ['--dockerfile', '/workspace/Dockerfile', '--destination', destination, '--context', 'dir:///workspace/', '--digest-file=/workspace/digest', '--image-name-with-digest-file=/workspace/names'],
    { binds: { '/workspace': w.work, '/kaniko/.docker': dockerDir } },
  );
  assert.equal(r.status, 0, r.stderr);
  const digest = readFileSync(join(w.work, 'digest'), 'utf8');
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(readFileSync(join(w.work, 'names'), 'utf8'), `${locked.host}/team/app@${digest}\n`);
  const inspected = await berthAsync(['inspect', '--tls-verify=false', '--creds', 'ci:s3cret', '--format', '{{.Digest}}', `docker://${destination}`]);
  assert.equal(inspected.stdout.trim(), digest, inspected.stderr);
  const files = await unpacked(w.dir, `docker://${destination}`, 'kaniko', ['--creds', 'ci:s3cret']);
  assert.equal(readFileSync(join(files.root, 'k'), 'utf8'), 'from-kaniko\n');
  assert.equal(readFileSync(join(files.root, 'app.txt'), 'utf8'), 'app\n');

  // A context as a local tar.gz, kept as a docker archive only (--no-push --tar-path).
  writeFileSync(join(w.work, 'Dockerfile.tar'), `FROM ${w.base}\nCOPY app.txt /from-tar.txt\n`);
  execFileSync('tar', ['-czf', join(w.work, 'ctx2.tar.gz'), '-C', join(w.work, 'ctx'), 'app.txt', '-C', w.work, 'Dockerfile.tar']);
  const fromTar2 = await podContainer(join(w.dir, 'pods-tar2')).berth(
    ['--context=tar:///workspace/ctx2.tar.gz', '--dockerfile=Dockerfile.tar', '--no-push', '--tar-path=/workspace/image.tar', '--destination=example.com/app:tar'],
    { binds: { '/workspace': w.work } },
  );
  assert.equal(fromTar2.status, 0, fromTar2.stderr);
  const archived = await unpacked(w.dir, `docker-archive:${join(w.work, 'image.tar')}`, 'from-tar');
  assert.equal(readFileSync(join(archived.root, 'from-tar.txt'), 'utf8'), 'app\n');
});
