import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeNodeBaseImage, makeTwoPlatformNodeBase } from '../../../fixtures/base-image/makeNodeBaseImage.js';
import { isRoot, tempDir } from '../../support/peers.js';
import { runUnderPodman } from '../../support/podman.js';
import { berth, berthAsync } from '../../support/runCli.js';

const fixtures = new URL('../../../../fixtures/node/', import.meta.url).pathname;

function copyFixture(name: string, to: string): string {
  cpSync(join(fixtures, name), to, { recursive: true });
  return to;
}

/** Every path under a tree, sorted. */
function paths(root: string, rel = ''): string[] {
  return readdirSync(join(root, rel))
    .sort()
    .flatMap((name) => {
      const path = rel ? `${rel}/${name}` : name;
      return [path, ...(lstatSync(join(root, path)).isDirectory() ? paths(root, path) : [])];
    });
}

test('build-node runs a dependency\'s install script inside the base image, never on the host; a failing script names its package', async (t) => {
  if (!isRoot()) return t.skip('install scripts run in a container (berth-runc needs root)');
  const dir = tempDir(t, 'berth-node-scripts-');
  const base = await makeNodeBaseImage(join(dir, 'base'));
  const env = { BERTH_ROOT: join(dir, 'root') };
  const project = copyFixture('scripted-app', join(dir, 'app'));
  const before = paths(project);
  const built = await berthAsync(['build-node', '--base', base, '-t', 'localhost/scripted:1', '-t', `oci:${join(dir, 'out')}:app`, project], { env });
  assert.equal(built.status, 0, built.stderr);
  assert.match(built.stderr, /stamp postinstall: node build\.js/);
  // The script recorded the shell it ran under: the base's busybox, where the host's is dash or bash.
  const ran = await berthAsync(['run', '--rm', 'localhost/scripted:1'], { env });
  assert.equal(ran.stdout, 'stamp was built with busybox\n', ran.stderr);
  assert.deepEqual(paths(project), before, 'the project is left as it was');
  const podman = await runUnderPodman(t, dir, `oci:${join(dir, 'out')}:app`, env);
  if (podman !== undefined) assert.equal(podman, ran.stdout, 'podman runs it the same');

  // --ignore-scripts: the package is installed and its script never runs.
  const ignored = await berthAsync(['build-node', '-q', '--ignore-scripts', '--base', base, '-t', `oci:${join(dir, 'ignored')}:app`, project], { env });
  assert.equal(ignored.status, 0, ignored.stderr);
  assert.equal(berth(['unpack', `oci:${join(dir, 'ignored')}:app`, join(dir, 'unpacked')], { env }).status, 0);
  const stamp = join(dir, 'unpacked', 'rootfs', 'app', 'node_modules', 'stamp');
  assert.ok(existsSync(join(stamp, 'build.js')) && !existsSync(join(stamp, 'built.txt')));

  // A script that fails: its output streams, the build stops with the package's name, nothing is written.
  const failing = join(dir, 'failing');
  mkdirSync(join(failing, 'pkg'), { recursive: true });
  writeFileSync(join(failing, 'pkg', 'package.json'), JSON.stringify({ name: 'breaks', version: '0.0.1', scripts: { install: 'echo compiling the addon; exit 3' } }));
  writeFileSync(join(failing, 'package.json'), JSON.stringify({ name: 'failing-app', version: '1.0.0', main: 'i.js', dependencies: { breaks: 'file:vendor/breaks-0.0.1.tgz' } }));
  mkdirSync(join(failing, 'vendor'));
  assert.equal(spawnSync('npm', ['pack', '-q', '--pack-destination', join(failing, 'vendor')], { cwd: join(failing, 'pkg') }).status, 0);
  assert.equal(spawnSync('npm', ['install', '--package-lock-only', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: failing }).status, 0);
  const failed = await berthAsync(['build-node', '--base', base, '-t', `oci:${join(dir, 'never')}:app`, failing], { env });
  assert.equal(failed.status, 1, failed.stderr);
  assert.match(failed.stderr, /compiling the addon/);
  assert.match(failed.stderr, /build-node: the install script of breaks failed with exit status 3 \(echo compiling the addon; exit 3\)/);
  assert.ok(!existsSync(join(dir, 'never')), 'nothing written');
});

test('build-node builds a workspaces monorepo: links and local packages as npm ci lays them out, --workspace with just what it needs', async (t) => {
  if (!isRoot()) return t.skip('running the image needs root (berth-runc)');
  const dir = tempDir(t, 'berth-node-mono-');
  const base = await makeNodeBaseImage(join(dir, 'base'));
  const env = { BERTH_ROOT: join(dir, 'root') };
  const project = copyFixture('monorepo', join(dir, 'mono'));

  // The whole project: what npm start runs on the host after npm ci, the image runs.
  const ci = copyFixture('monorepo', join(dir, 'npm-ci'));
  const npm = spawnSync('npm', ['ci', '--omit=dev', '--offline', '--no-audit', '--no-fund'], { cwd: ci, encoding: 'utf8' });
  assert.equal(npm.status, 0, npm.stderr);
  const host = spawnSync(process.execPath, ['packages/app/bin/mono.js'], { cwd: ci, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } });
  const whole = await berthAsync(['build-node', '--base', base, '-t', 'localhost/mono:all', '-t', `oci:${join(dir, 'out')}:all`, project], { env });
  assert.equal(whole.status, 0, whole.stderr);
  const ranWhole = await berthAsync(['run', '--rm', 'localhost/mono:all'], { env });
  assert.equal(ranWhole.stdout, host.stdout, ranWhole.stderr);
  assert.equal(berth(['unpack', `oci:${join(dir, 'out')}:all`, join(dir, 'u-all')], { env }).status, 0);
  const appAll = join(dir, 'u-all', 'rootfs', 'app');
  const shipped = (p: string) => !p.startsWith('vendor') && !p.includes('/test') && !p.endsWith('.package-lock.json') && !p.startsWith('node_modules/.package-lock');
  assert.deepEqual(paths(appAll).filter(shipped), paths(ci).filter((p) => shipped(p) && p !== 'node_modules/.package-lock.json'), 'the tree npm ci --omit=dev lays out, without tests and tarballs');

  // One workspace: itself, the local package it needs, their third-party dependencies; not the others.
  const one = await berthAsync(['build-node', '--base', base, '-w', '@mono/app', '-t', 'localhost/mono:app', '-t', `oci:${join(dir, 'out')}:app`, project], { env });
  assert.equal(one.status, 0, one.stderr);
  const ran = await berthAsync(['run', '--rm', 'localhost/mono:app'], { env });
  assert.equal(ran.stdout, 'hello, berth via @mono/lib in @mono/app (NODE_ENV=production)\n', ran.stderr);
  assert.equal(berth(['unpack', `oci:${join(dir, 'out')}:app`, join(dir, 'u-app')], { env }).status, 0);
  const appDir = join(dir, 'u-app', 'rootfs', 'app');
  assert.deepEqual(paths(appDir), [
    'node_modules', 'node_modules/.bin', 'node_modules/.bin/mono', 'node_modules/@mono', 'node_modules/@mono/app', 'node_modules/@mono/lib',
    'node_modules/greet', 'node_modules/greet/index.js', 'node_modules/greet/package.json', 'package-lock.json', 'package.json',
    'packages', 'packages/app', 'packages/app/bin', 'packages/app/bin/mono.js', 'packages/app/package.json', 'packages/lib', 'packages/lib/index.js', 'packages/lib/package.json',
  ]);
  assert.equal(lstatSync(join(appDir, 'packages/app/bin/mono.js')).mode & 0o777, 0o755, 'a bin is executable, as npm makes it');
  const config = JSON.parse(berth(['inspect', '--config', `oci:${join(dir, 'out')}:app`], { env }).stdout) as { config: { WorkingDir: string; Entrypoint: string[]; Labels: Record<string, string> } };
  assert.equal(config.config.WorkingDir, '/app/packages/app');
  assert.deepEqual(config.config.Entrypoint, ['node', '/app/packages/app/bin/mono.js']);
  assert.equal(config.config.Labels['org.opencontainers.image.title'], '@mono/app');
  assert.equal(config.config.Labels['org.opencontainers.image.version'], '1.4.0');
  const podman = await runUnderPodman(t, dir, `oci:${join(dir, 'out')}:app`, env);
  if (podman !== undefined) assert.equal(podman, ran.stdout, 'podman runs it the same');

  // By directory too, as npm -w takes it; an unknown workspace and a file: directory outside the project: one line.
  const byDir = await berthAsync(['build-node', '-q', '--base', base, '--workspace', 'packages/app/', '-t', `oci:${join(dir, 'by-dir')}:app`, project], { env });
  assert.equal(byDir.stdout, one.stdout, byDir.stderr);
  const unknown = await berthAsync(['build-node', '--base', base, '-w', '@mono/nope', '-t', `oci:${join(dir, 'never')}:x`, project], { env });
  assert.equal(unknown.status, 2);
  assert.equal(unknown.stderr, 'berth: build-node: no workspace named @mono/nope (the project has @mono/app, @mono/lib, @mono/other)\n');
  const outside = join(dir, 'outside');
  mkdirSync(join(outside, 'app'), { recursive: true });
  copyFixture('monorepo/packages/lib', join(outside, 'lib'));
  writeFileSync(join(outside, 'app', 'package.json'), JSON.stringify({ name: 'uses-outside', version: '1.0.0', main: 'i.js', dependencies: { '@mono/lib': 'file:../lib' } }));
  writeFileSync(join(outside, 'app', 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'uses-outside', dependencies: { '@mono/lib': 'file:../lib' } }, '../lib': { name: '@mono/lib', version: '1.1.0' }, 'node_modules/@mono/lib': { resolved: '../lib', link: true } } }));
  const refused = await berthAsync(['build-node', '--base', base, '-t', `oci:${join(dir, 'never')}:x`, join(outside, 'app')], { env });
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /^berth: build-node: @mono\/lib is a file: dependency outside the project \(\.\.\/lib\)/);
  assert.equal(refused.stderr.trim().split('\n').length, 1);
  assert.ok(!existsSync(join(dir, 'never')));
});

test('build-node --platform A,B writes an index whose instances differ only in their base layers and platform; install scripts refuse a platform this host cannot run unless prebuilt', async (t) => {
  const dir = tempDir(t, 'berth-node-platforms-');
  const base = await makeTwoPlatformNodeBase(join(dir, 'base'));
  const env = { BERTH_ROOT: join(dir, 'root') };
  const project = copyFixture('plain-app', join(dir, 'app'));
  const out = join(dir, 'out');
  const built = await berthAsync(['build-node', '--base', base, '--platform', 'linux/amd64,linux/arm64', '-t', `oci:${out}:app`, project], { env });
  assert.equal(built.status, 0, built.stderr);
  const blob = (digest: string) => JSON.parse(readFileSync(join(out, 'blobs', 'sha256', digest.slice(7)), 'utf8'));
  const top = blob(JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')).manifests[0].digest);
  assert.equal(built.stdout.trim(), JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')).manifests[0].digest, 'the index digest is the result');
  assert.deepEqual(top.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture), ['amd64', 'arm64']);
  const [amd, arm] = top.manifests.map((m: { digest: string }) => blob(m.digest)) as { layers: { digest: string }[]; config: { digest: string } }[];
  const baseLayers = { amd64: amd!.layers.length - 2, arm64: arm!.layers.length - 2 };
  assert.equal(baseLayers.arm64, baseLayers.amd64 + 1, 'the foreign base has its marker layer');
  assert.deepEqual(amd!.layers.slice(-2), arm!.layers.slice(-2), 'the dependency and application layers are shared');
  const [amdConfig, armConfig] = [blob(amd!.config.digest), blob(arm!.config.digest)];
  const withoutBase = (c: { architecture?: string; rootfs: { diff_ids: string[] }; history: unknown[] }, baseCount: number) => ({ ...c, architecture: undefined, rootfs: c.rootfs.diff_ids.slice(baseCount), history: c.history.slice(baseCount) });
  assert.deepEqual(withoutBase(armConfig, baseLayers.arm64), withoutBase(amdConfig, baseLayers.amd64), 'configs differ only in the platform and the base');

  // A single-platform base is never relabelled for another platform.
  const nativeBase = `oci:${join(dir, 'base', 'native', 'layout')}:node`;
  const relabelled = await berthAsync(['build-node', '--base', nativeBase, '--platform', 'linux/arm64', '-t', `oci:${join(dir, 'never')}:x`, project], { env });
  assert.equal(relabelled.status, 3);
  assert.match(relabelled.stderr, /berth: build-node: the base .* is an image for linux\/amd64, not linux\/arm64\/v8\n$/);

  // --platform all takes the base's platforms: the same index.
  const all = await berthAsync(['build-node', '-q', '--base', base, '--platform', 'all', '-t', `oci:${join(dir, 'all')}:app`, project], { env });
  assert.equal(all.stdout, built.stdout, all.stderr);

  // A dependency with an install script cannot be built for arm64 here, unless it ships prebuilt binaries for it.
  const scripted = copyFixture('scripted-app', join(dir, 'scripted'));
  const refused = await berthAsync(['build-node', '--base', base, '--platform', 'linux/arm64', '-t', `oci:${join(dir, 'never')}:x`, scripted], { env });
  assert.equal(refused.status, 7);
  assert.match(refused.stderr, /build-node: stamp has install scripts and no prebuilt binaries for linux\/arm64\/v8 \(prebuilds\/linux-arm64\), and this host cannot run them: linux\/arm64\/v8 needs emulation/);
  const stamp = copyFixture('scripted-app/stamp', join(dir, 'stamp'));
  mkdirSync(join(stamp, 'prebuilds', 'linux-arm64'), { recursive: true });
  writeFileSync(join(stamp, 'prebuilds', 'linux-arm64', 'stamp.node'), 'an arm64 addon\n');
  assert.equal(spawnSync('npm', ['pack', '-q', '--pack-destination', join(scripted, 'vendor')], { cwd: stamp }).status, 0);
  rmSync(join(scripted, 'package-lock.json'));
  assert.equal(spawnSync('npm', ['install', '--package-lock-only', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: scripted }).status, 0);
  const prebuilt = await berthAsync(['build-node', '--base', base, '--platform', 'linux/arm64', '-t', `oci:${join(dir, 'prebuilt')}:x`, scripted], { env });
  assert.equal(prebuilt.status, 0, prebuilt.stderr);
  assert.match(prebuilt.stderr, /install scripts not run for linux\/arm64\/v8: the packages ship prebuilt binaries for it/);
  assert.ok(!existsSync(join(dir, 'never')));
});
