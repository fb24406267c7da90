import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { berthBin, isRoot, peer, tempDir } from '../support/peers.js';
import { makeUmociBusybox } from './umociImage.js';

/** What "same rootfs" means: every path with its type, mode, owner, symlink target and content hash. */
function rootfsListing(root: string, rel = '', out: string[] = []): string[] {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const st = lstatSync(join(root, path));
    const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'other';
    let line = `${path} ${type} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) line += ` -> ${readlinkSync(join(root, path))}`;
    if (st.isFile()) line += ` ${st.size} ${createHash('sha256').update(readFileSync(join(root, path))).digest('hex')} nlink=${st.nlink}`;
    out.push(line);
    if (st.isDirectory()) rootfsListing(root, path, out);
  }
  return out;
}

function berth(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [berthBin, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('berth unpack gives the same rootfs as umoci unpack', (t) => {
  const umoci = peer(t, 'umoci');
  if (!umoci) return;
  const work = tempDir(t);
  const layout = makeUmociBusybox(umoci, work);
  execFileSync(umoci, ['unpack', '--image', `${layout}:base`, join(work, 'by-umoci')], { stdio: 'ignore' });
  const r = berth('unpack', `oci:${layout}:base`, join(work, 'by-berth'));
  assert.equal(r.status, 0, r.stderr);
  const ours = rootfsListing(join(work, 'by-berth/rootfs'));
  const theirs = rootfsListing(join(work, 'by-umoci/rootfs'));
  assert.ok(ours.some((l) => l.startsWith('bin/sh l 777 0:0 -> busybox')));
  assert.ok(ours.some((l) => l.startsWith('srv/data/owned f 640 1000:50')) || !isRoot());
  assert.deepEqual(ours, theirs);
  assert.deepEqual(lstatSync(join(work, 'by-berth/rootfs')).mode & 0o7777, lstatSync(join(work, 'by-umoci/rootfs')).mode & 0o7777);
});

test('config.json follows image-spec conversion: args, env, cwd, user and groups from the rootfs, annotations', (t) => {
  const umoci = peer(t, 'umoci');
  if (!umoci) return;
  const work = tempDir(t);
  const layout = makeUmociBusybox(umoci, work, { user: 'app', workdir: '/srv/data', entrypoint: ['/bin/echo', 'hi'], cmd: ['there'], env: ['PATH=/bin', 'GREETING=hello'] });
  const bundle = join(work, 'bundle');
  const r = berth('unpack', `oci:${layout}:base`, bundle);
  assert.equal(r.status, 0, r.stderr);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  assert.deepEqual(spec.process.args, ['/bin/echo', 'hi', 'there']);
  assert.deepEqual(spec.process.env, ['PATH=/bin', 'GREETING=hello', 'HOME=/home/app']);
  assert.equal(spec.process.cwd, '/srv/data');
  assert.deepEqual(spec.process.user, { uid: 1000, gid: 1000, additionalGids: [50, 29] });
  assert.equal(spec.process.terminal, false);
  assert.equal(spec.annotations['org.opencontainers.image.architecture'], 'amd64');
  assert.equal(spec.annotations['org.opencontainers.image.os'], 'linux');
  assert.ok(spec.linux.namespaces.some((ns: { type: string }) => ns.type === 'mount'));
  assert.ok(spec.linux.maskedPaths.includes('/proc/kcore'));
  assert.equal(spec.linux.uidMappings, undefined);
});

test('the unpacked bundle runs under real runc', (t) => {
  const umoci = peer(t, 'umoci');
  const runc = peer(t, 'runc');
  if (!umoci || !runc) return;
  if (!isRoot()) {
    t.skip('runc run needs root here');
    return;
  }
  const work = tempDir(t);
  const layout = makeUmociBusybox(umoci, work, { user: 'nobody', cmd: ['/bin/sh', '-c', 'echo hello from berth; id -u; id -G; cat /etc/passwd | wc -l'] });
  const bundle = join(work, 'bundle');
  const r = berth('unpack', `oci:${layout}:base`, bundle);
  assert.equal(r.status, 0, r.stderr);
  const state = join(work, 'runc-state');
  mkdirSync(state);
  const id = `berth-unpack-${process.pid}`;
  const run = spawnSync(runc, ['--root', state, 'run', '--bundle', bundle, id], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  spawnSync(runc, ['--root', state, 'delete', '--force', id], { stdio: 'ignore' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, 'hello from berth\n65534\n65534\n3\n');
});

test('--uid-map/--gid-map shift file owners and add a user namespace', (t) => {
  const umoci = peer(t, 'umoci');
  if (!umoci) return;
  if (!isRoot()) {
    t.skip('chown to mapped ids needs root');
    return;
  }
  const work = tempDir(t);
  const layout = makeUmociBusybox(umoci, work);
  const bundle = join(work, 'bundle');
  const r = berth('unpack', '--uid-map', '0:100000:65536', '--gid-map', '0:200000:65536', `oci:${layout}:base`, bundle);
  assert.equal(r.status, 0, r.stderr);
  const owned = lstatSync(join(bundle, 'rootfs/srv/data/owned'));
  assert.equal(owned.uid, 101000);
  assert.equal(owned.gid, 200050);
  assert.equal(lstatSync(join(bundle, 'rootfs/bin/busybox')).uid, 100000);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  assert.deepEqual(spec.linux.uidMappings, [{ containerID: 0, hostID: 100000, size: 65536 }]);
  assert.deepEqual(spec.linux.gidMappings, [{ containerID: 0, hostID: 200000, size: 65536 }]);
  assert.ok(spec.linux.namespaces.some((ns: { type: string }) => ns.type === 'user'));
  assert.ok(!spec.linux.namespaces.some((ns: { type: string }) => ns.type === 'network'));
});

test('a corrupted layer blob fails with DIGEST_MISMATCH and leaves no bundle behind', (t) => {
  const umoci = peer(t, 'umoci');
  if (!umoci) return;
  const work = tempDir(t);
  const layout = makeUmociBusybox(umoci, work);
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(layout, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
  const layerPath = join(layout, 'blobs/sha256', manifest.layers[0].digest.slice(7));
  const bytes = readFileSync(layerPath);
  bytes[bytes.length - 20] ^= 0xff;
  writeFileSync(layerPath, bytes);
  const bundle = join(work, 'bundle');
  const r = berth('unpack', `oci:${layout}:base`, bundle);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /^berth: .*(digest|gzip|invalid)/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.equal(existsSync(bundle), false);
});

test('unpack refuses a non-empty bundle directory and bad flags with one line', (t) => {
  const work = tempDir(t);
  mkdirSync(join(work, 'bundle'));
  writeFileSync(join(work, 'bundle', 'keep'), 'x');
  const r = berth('unpack', `oci:${join(work, 'nothing')}:x`, join(work, 'bundle'));
  assert.notEqual(r.status, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.ok(existsSync(join(work, 'bundle', 'keep')));
  const bad = berth('unpack', '--uid-map', 'zero:1', 'oci:x:y', join(work, 'b2'));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--uid-map/);
});

test('layers decoded on the worker thread and in-thread give the same rootfs; worker errors keep their codes', async (t) => {
  const umoci = peer(t, 'umoci');
  if (!umoci) return;
  await import('../../src/transports/allTransports.js');
  const { parseImageReference } = await import('../../src/transports/transportRegistry.js');
  const { unpackImage } = await import('../../src/bundle/unpackImage.js');
  const work = tempDir(t);
  const layout = makeUmociBusybox(umoci, work);
  const unpackWith = async (offThreadMinBytes: number, bundle: string): Promise<void> => {
    const source = await parseImageReference(`oci:${layout}:base`).newSource();
    try {
      await unpackImage(source, bundle, { offThreadMinBytes });
    } finally {
      await source.close();
    }
  };
  await unpackWith(0, join(work, 'worker'));
  await unpackWith(Number.POSITIVE_INFINITY, join(work, 'inline'));
  assert.deepEqual(rootfsListing(join(work, 'worker/rootfs')), rootfsListing(join(work, 'inline/rootfs')));

  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(layout, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
  const config = JSON.parse(readFileSync(join(layout, 'blobs/sha256', manifest.config.digest.slice(7)), 'utf8'));
  // A config whose diff_id disagrees with the layer: the blob digest passes, the uncompressed check must fail.
  config.rootfs.diff_ids[0] = `sha256:${'0'.repeat(64)}`;
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = createHash('sha256').update(configBytes).digest('hex');
  writeFileSync(join(layout, 'blobs/sha256', configDigest), configBytes);
  manifest.config = { ...manifest.config, digest: `sha256:${configDigest}`, size: configBytes.length };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = createHash('sha256').update(manifestBytes).digest('hex');
  writeFileSync(join(layout, 'blobs/sha256', manifestDigest), manifestBytes);
  index.manifests[0] = { ...index.manifests[0], digest: `sha256:${manifestDigest}`, size: manifestBytes.length };
  writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
  for (const threshold of [0, Number.POSITIVE_INFINITY]) {
    const bundle = join(work, `bad-${threshold}`);
    await assert.rejects(unpackWith(threshold, bundle), (err: Error & { code?: string }) => err.code === 'DIGEST_MISMATCH' && /diff_id/.test(err.message));
    assert.equal(existsSync(bundle), false);
  }
});

test('an index is resolved to the host platform, or to --platform; a missing platform is a clear error', (t) => {
  const umoci = peer(t, 'umoci');
  if (!umoci) return;
  const work = tempDir(t);
  const layout = makeUmociBusybox(umoci, work);
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const image = index.manifests[0];
  const inner = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: image.mediaType, digest: `sha256:${'a'.repeat(64)}`, size: 100, platform: { os: 'linux', architecture: 's390x' } },
      { mediaType: image.mediaType, digest: image.digest, size: image.size, platform: { os: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch } },
    ],
  };
  const innerBytes = Buffer.from(JSON.stringify(inner));
  const innerDigest = createHash('sha256').update(innerBytes).digest('hex');
  writeFileSync(join(layout, 'blobs/sha256', innerDigest), innerBytes);
  index.manifests = [{ mediaType: inner.mediaType, digest: `sha256:${innerDigest}`, size: innerBytes.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }];
  writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
  const ok = berth('unpack', `oci:${layout}:multi`, join(work, 'host'));
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok(existsSync(join(work, 'host/rootfs/bin/busybox')));
  const missing = berth('unpack', '--platform', 'linux/riscv64', `oci:${layout}:multi`, join(work, 'riscv'));
  assert.equal(missing.status, 3);
  assert.match(missing.stderr, /^berth: no image for linux\/riscv64 in oci:\S+:multi \(it has: linux\/s390x, linux\/amd64\)\n$/);
  assert.equal(existsSync(join(work, 'riscv')), false);
});

test('--rootless as an unprivileged user: later layers can write into directories earlier layers made read-only', (t) => {
  const umoci = peer(t, 'umoci');
  const setpriv = peer(t, 'setpriv');
  if (!umoci || !setpriv) return;
  if (!isRoot()) {
    t.skip('needs root to switch to an unprivileged user');
    return;
  }
  const work = tempDir(t);
  chmodSync(work, 0o755);
  const layout = join(work, 'layout');
  const staging = join(work, 'staging');
  const run = (...args: string[]): void => {
    execFileSync(umoci, args, { stdio: 'ignore' });
  };
  run('init', '--layout', layout);
  run('new', '--image', `${layout}:ro`);
  run('unpack', '--image', `${layout}:ro`, staging);
  mkdirSync(join(staging, 'rootfs/ro'));
  writeFileSync(join(staging, 'rootfs/ro/old'), 'old');
  chmodSync(join(staging, 'rootfs/ro'), 0o555);
  run('repack', '--image', `${layout}:ro`, staging);
  rmSync(staging, { recursive: true, force: true });
  run('unpack', '--image', `${layout}:ro`, staging);
  writeFileSync(join(staging, 'rootfs/ro/new'), 'new');
  run('repack', '--image', `${layout}:ro`, staging);
  run('config', '--image', `${layout}:ro`, '--config.cmd', '/bin/sh');
  execFileSync('chmod', ['-R', 'a+rX', layout]);
  const out = join(work, 'out');
  mkdirSync(out, { mode: 0o777 });
  chmodSync(out, 0o777);
  const r = spawnSync(setpriv, ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, berthBin, 'unpack', '--rootless', `oci:${layout}:ro`, join(out, 'bundle')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rootfs = join(out, 'bundle/rootfs');
  assert.equal(readFileSync(join(rootfs, 'ro/new'), 'utf8'), 'new');
  assert.equal(readFileSync(join(rootfs, 'ro/old'), 'utf8'), 'old');
  assert.equal(lstatSync(join(rootfs, 'ro')).mode & 0o777, 0o555);
  assert.equal(lstatSync(join(rootfs, 'ro/new')).uid, 65534);
  const spec = JSON.parse(readFileSync(join(out, 'bundle/config.json'), 'utf8'));
  assert.deepEqual(spec.linux.uidMappings, [{ containerID: 0, hostID: 65534, size: 1 }]);
});

test('unpack reads any transport: dir: and docker-archive: copies give the same rootfs as oci:', (t) => {
  const umoci = peer(t, 'umoci');
  if (!umoci) return;
  const work = tempDir(t);
  const layout = makeUmociBusybox(umoci, work);
  const fromOci = berth('unpack', '-q', `oci:${layout}:base`, join(work, 'oci'));
  assert.equal(fromOci.status, 0, fromOci.stderr);
  const expected = rootfsListing(join(work, 'oci/rootfs'));
  for (const [name, ref] of [['dir', `dir:${join(work, 'd')}`], ['docker-archive', `docker-archive:${join(work, 'a.tar')}:berth/test:1`]] as const) {
    const copied = berth('copy', '-q', `oci:${layout}:base`, ref);
    assert.equal(copied.status, 0, copied.stderr);
    const r = berth('unpack', '-q', ref, join(work, name));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(rootfsListing(join(work, name, 'rootfs')), expected, name);
  }
  // dir: layers are read by the decode worker straight from their files: still verified.
  const dirManifest = JSON.parse(readFileSync(join(work, 'd', 'manifest.json'), 'utf8'));
  const dirLayer = join(work, 'd', dirManifest.layers[0].digest.slice(7));
  const bytes = readFileSync(dirLayer);
  bytes[bytes.length - 20] ^= 0xff;
  writeFileSync(dirLayer, bytes);
  const corrupted = berth('unpack', '-q', `dir:${join(work, 'd')}`, join(work, 'corrupted'));
  assert.notEqual(corrupted.status, 0);
  assert.match(corrupted.stderr, /^berth: .*(digest|gzip|invalid)[^\n]*\n$/);
  assert.equal(existsSync(join(work, 'corrupted')), false);
});

test('multi-layer image with deletions and replacements (umoci whiteouts): same rootfs as umoci unpack', (t) => {
  const umoci = peer(t, 'umoci');
  if (!umoci) return;
  const work = tempDir(t);
  const layout = join(work, 'layout');
  const staging = join(work, 'staging');
  const run = (...args: string[]): void => {
    execFileSync(umoci, args, { stdio: 'ignore' });
  };
  const restage = (): string => {
    rmSync(staging, { recursive: true, force: true });
    run('unpack', '--image', `${layout}:multi`, staging);
    return join(staging, 'rootfs');
  };
  run('init', '--layout', layout);
  run('new', '--image', `${layout}:multi`);
  let rootfs = restage();
  mkdirSync(join(rootfs, 'etc/conf.d'), { recursive: true });
  mkdirSync(join(rootfs, 'var/lib/pkg'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/conf.d/a'), 'a');
  writeFileSync(join(rootfs, 'etc/conf.d/b'), 'b');
  writeFileSync(join(rootfs, 'etc/hosts'), '127.0.0.1 localhost\n');
  writeFileSync(join(rootfs, 'var/lib/pkg/db'), 'db v1');
  writeFileSync(join(rootfs, 'becomes-dir'), 'file');
  symlinkSync('hosts', join(rootfs, 'etc/link'));
  run('repack', '--image', `${layout}:multi`, staging);
  rootfs = restage();
  rmSync(join(rootfs, 'etc/conf.d/a'));
  rmSync(join(rootfs, 'var/lib/pkg'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/hosts'), '127.0.0.1 localhost berth\n');
  rmSync(join(rootfs, 'becomes-dir'));
  mkdirSync(join(rootfs, 'becomes-dir'));
  writeFileSync(join(rootfs, 'becomes-dir/inside'), 'in');
  rmSync(join(rootfs, 'etc/link'));
  symlinkSync('conf.d/b', join(rootfs, 'etc/link'));
  chmodSync(join(rootfs, 'etc/conf.d'), 0o750);
  run('repack', '--image', `${layout}:multi`, staging);
  rootfs = restage();
  mkdirSync(join(rootfs, 'var/lib/pkg'), { recursive: true });
  writeFileSync(join(rootfs, 'var/lib/pkg/db'), 'db v2');
  run('repack', '--image', `${layout}:multi`, staging);
  run('config', '--image', `${layout}:multi`, '--config.cmd', '/bin/sh');
  run('unpack', '--image', `${layout}:multi`, join(work, 'by-umoci'));
  const r = berth('unpack', '-q', `oci:${layout}:multi`, join(work, 'by-berth'));
  assert.equal(r.status, 0, r.stderr);
  const ours = rootfsListing(join(work, 'by-berth/rootfs'));
  assert.deepEqual(ours, rootfsListing(join(work, 'by-umoci/rootfs')));
  assert.ok(!ours.some((l) => l.startsWith('etc/conf.d/a ')));
  assert.ok(ours.some((l) => l.startsWith('var/lib/pkg/db f')));
});
