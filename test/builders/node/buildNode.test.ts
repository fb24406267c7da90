import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeNodeBaseImage } from '../../../fixtures/base-image/makeNodeBaseImage.js';
import { startRegistryServer } from '../../../registry/server/startRegistryServer.js';
import { isRoot, tempDir } from '../../support/peers.js';
import { berth, berthAsync } from '../../support/runCli.js';

const fixture = new URL('../../../../fixtures/node/plain-app/', import.meta.url).pathname;

/** Every path under a tree with its type, mode and content digest (what `npm ci` and the image must agree on). */
function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, path));
      out.push(`${path} ${st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : readFileSync(join(root, path)).toString('base64').length}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return out;
}

test('build-node: the image runs like node . on the host, holds what npm ci --omit=dev installs, and is reproducible and incremental', async (t) => {
  if (!isRoot()) return t.skip('running the image needs root (berth-runc)');
  const dir = tempDir(t, 'berth-node-');
  const base = await makeNodeBaseImage(join(dir, 'base'));
  const env = { BERTH_ROOT: join(dir, 'root') };
  const copyProject = (name: string) => {
    const to = join(dir, name);
    cpSync(fixture, to, { recursive: true });
    return to;
  };
  const a = copyProject('a');
  const built = berth(['build-node', '--base', base, '-t', 'localhost/app:1', '-t', `oci:${join(dir, 'out-a')}:app`, a], { env });
  assert.equal(built.status, 0, built.stderr);
  const imageId = built.stdout.trim();
  assert.match(imageId, /^sha256:[0-9a-f]{64}$/);

  const ran = berth(['run', '--rm', 'localhost/app:1'], { env });
  assert.equal(ran.status, 0, ran.stderr);
  assert.equal(ran.stdout, 'hello, berth from plain-app (NODE_ENV=production)\n');

  // The dependency tree equals npm ci --omit=dev's for the same lockfile; dev dependencies, tests and VCS stay out.
  const ci = copyProject('npm-ci');
  const npm = spawnSync('npm', ['ci', '--omit=dev', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: ci, encoding: 'utf8' });
  assert.equal(npm.status, 0, npm.stderr);
  const host = spawnSync(process.execPath, ['.'], { cwd: ci, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } });
  assert.equal(ran.stdout, host.stdout, 'the image behaves as node . does on the host');
  const unpacked = join(dir, 'unpacked');
  assert.equal(berth(['unpack', `oci:${join(dir, 'out-a')}:app`, unpacked], { env }).status, 0);
  const appDir = join(unpacked, 'rootfs', 'app');
  const ours = listing(join(appDir, 'node_modules'));
  const theirs = listing(join(ci, 'node_modules')).filter((l) => !l.startsWith('.package-lock.json'));
  assert.deepEqual(ours, theirs);
  assert.ok(!ours.some((l) => l.startsWith('greet-dev')), 'no dev dependency');
  // As npm pack chooses: .npmignore's scratch/ and the .npmignore itself stay out, and so do tests.
  assert.deepEqual(readdirSync(appDir).sort(), ['node_modules', 'package-lock.json', 'package.json', 'src', 'vendor']);
  const config = JSON.parse(berth(['inspect', '--config', `oci:${join(dir, 'out-a')}:app`], { env }).stdout) as { config: Record<string, unknown>; created: string };
  assert.equal(config.config.WorkingDir, '/app');
  assert.deepEqual(config.config.Entrypoint, ['node', '/app/src/main.js']);
  assert.equal((config.config.Labels as Record<string, string>)['org.opencontainers.image.version'], '0.3.1');

  // Another copy at another path, with other mtimes and another umask: the same image.
  const b = copyProject('b');
  spawnSync('touch', ['-d', '2001-02-03', join(b, 'src', 'main.js')]);
  const again = berth(['build-node', '-q', '--base', base, '-t', `oci:${join(dir, 'out-b')}:app`, b], { env: { ...env, BERTH_ROOT: join(dir, 'root-b') } });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout.trim(), imageId, 'two paths, two caches, one digest');

  // After an edit only the application layer differs, and a push sends only that layer, the config and the manifest.
  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'registry'), onRequestDone: (e) => uploads.push(`${e.method} ${e.path}`) });
  const uploads: string[] = [];
  t.after(() => server.close());
  const pushed = await berthAsync(['push', '-q', 'localhost/app:1', `${server.host}/team/app:1`], { env });
  assert.equal(pushed.status, 0, pushed.stderr);
  writeFileSync(join(a, 'src', 'main.js'), `${readFileSync(join(a, 'src', 'main.js'), 'utf8')}console.log('edited');\n`);
  const edited = berth(['build-node', '--base', base, '-t', 'localhost/app:2', '-t', `oci:${join(dir, 'out-c')}:app`, a], { env });
  assert.equal(edited.status, 0, edited.stderr);
  assert.match(edited.stderr, /dependencies: cached/);
  const layers = (out: string) => {
    const index = JSON.parse(readFileSync(join(dir, out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(readFileSync(join(dir, out, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
    return manifest.layers.map((l) => l.digest);
  };
  const before = layers('out-a');
  const after = layers('out-c');
  assert.equal(after.length, before.length);
  assert.deepEqual(after.slice(0, -1), before.slice(0, -1), 'base and dependency layers unchanged');
  assert.notEqual(after.at(-1), before.at(-1));
  uploads.length = 0;
  const pushedAgain = await berthAsync(['push', '-q', 'localhost/app:2', `${server.host}/team/app:2`], { env });
  assert.equal(pushedAgain.status, 0, pushedAgain.stderr);
  const blobUploads = uploads.filter((u) => /^PUT \/v2\/team\/app\/blobs\/uploads\//.test(u) || /^POST \/v2\/team\/app\/blobs\/uploads\/\?.*digest/.test(u));
  assert.equal(blobUploads.length, 2, `only the application layer and the config are sent: ${uploads.join(', ')}`);
  assert.ok(uploads.some((u) => u.startsWith('PUT /v2/team/app/manifests/2')));
});

test('build-node: bad input is one line each and writes nothing', async (t) => {
  const dir = tempDir(t, 'berth-node-bad-');
  const env = { BERTH_ROOT: join(dir, 'root') };
  const out = join(dir, 'never');
  const project = join(dir, 'p');
  const cases: [string, () => void, RegExp, number][] = [
    ['no package.json', () => mkdirSync(project), /package\.json: no such file/, 3],
    ['no lockfile', () => writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0', main: 'i.js', dependencies: { a: '1' } })), /no package-lock\.json; make one with "npm install --package-lock-only"/, 2],
    ['lockfile out of sync', () => writeFileSync(join(project, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': { dependencies: { b: '1' } } } })), /disagree on dependencies/, 2],
  ];
  for (const [what, prepare, message, status] of cases) {
    prepare();
    const r = berth(['build-node', '--base', `oci:${join(dir, 'nobase')}:x`, '-t', `oci:${out}:x`, project], { env });
    assert.equal(r.status, status, `${what}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
  }
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': { dependencies: { a: '1' } } } }));
  const noBase = berth(['build-node', '--base', `oci:${join(dir, 'nobase')}:x`, '-t', `oci:${out}:x`, project], { env });
  assert.equal(noBase.status, 3, noBase.stderr);
  // A package registry that refuses the connection (nothing in npm's cache for it): one line naming the request.
  const registryDown = join(dir, 'registry-down');
  mkdirSync(registryDown);
  writeFileSync(join(registryDown, 'package.json'), JSON.stringify({ name: 'd', version: '1.0.0', main: 'i.js', dependencies: { leftpad: '^1.0.0' } }));
  const tarball = 'http://127.0.0.1:9/leftpad/-/leftpad-1.0.0.tgz';
  writeFileSync(join(registryDown, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'd', dependencies: { leftpad: '^1.0.0' } }, 'node_modules/leftpad': { version: '1.0.0', resolved: tarball, integrity: `sha512-${'A'.repeat(86)}==` } } }));
  const base = await makeNodeBaseImage(join(dir, 'base'));
  const down = await berthAsync(['build-node', '-q', '--base', base, '-t', `oci:${out}:x`, registryDown], { env: { ...env, npm_config_registry: 'http://127.0.0.1:9/', npm_config_cache: join(dir, 'npm-cache') } });
  assert.equal(down.status, 1, down.stderr);
  assert.equal(down.stderr, `berth: build-node: installing the dependencies failed: request to ${tarball} failed, reason: connect ECONNREFUSED 127.0.0.1:9\n`);
  rmSync(project, { recursive: true, force: true });
  assert.deepEqual(readdirSync(dir).filter((n) => n === 'never'), [], 'nothing written to the destination');
});

test('build-node without --base takes the official node image of the lowest major engines.node allows (docker.io relocated to a loopback registry), and --app-root moves the application', async (t) => {
  const { defaultNodeBase } = await import('../../../builders/node/imageConfig.js');
  assert.equal(defaultNodeBase({ engines: { node: '>=20.10 <23' } }), 'docker.io/library/node:20-slim');
  assert.equal(defaultNodeBase({ engines: { node: '^22.3.0 || ^24' } }), 'docker.io/library/node:22-slim');
  assert.throws(() => defaultNodeBase({}), /give --base IMAGE/);
  assert.throws(() => defaultNodeBase({ engines: { node: 'lts' } }), /"lts" names no version/);
  if (!isRoot()) return t.skip('running the image needs root (berth-runc)');
  const dir = tempDir(t, 'berth-node-');
  const base = await makeNodeBaseImage(join(dir, 'base'));
  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'registry') });
  t.after(() => server.close());
  const pushed = await berthAsync(['copy', '-q', '--dest-tls-verify=false', base, `docker://${server.host}/library/node:20-slim`]);
  assert.equal(pushed.status, 0, pushed.stderr);
  // docker.io itself is never asked: its references are relocated, not mirrored (a mirror falls back to the origin).
  const conf = join(dir, 'registries.conf');
  writeFileSync(conf, `[[registry]]\nprefix = "docker.io"\nlocation = "${server.host}"\ninsecure = true\n`);
  const project = join(dir, 'project');
  cpSync(fixture, project, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ ...pkg, engines: { node: '>=20.10' } }, null, 2));
  const env = { BERTH_ROOT: join(dir, 'root') };
  const built = await berthAsync(['build-node', '--registries-conf', conf, '--app-root', '/srv/app', '-t', 'localhost/engines:1', project], { env });
  assert.equal(built.status, 0, built.stderr);
  assert.match(built.stderr, /base: docker\.io\/library\/node:20-slim \(from engines\.node >=20\.10\)/);
  const ran = await berthAsync(['run', '--rm', 'localhost/engines:1'], { env });
  assert.equal(ran.stdout, 'hello, berth from plain-app (NODE_ENV=production)\n', ran.stderr);
  const config = JSON.parse((await berthAsync(['inspect', '--config', 'berth:localhost/engines:1'], { env })).stdout) as { config: Record<string, unknown> };
  assert.equal(config.config.WorkingDir, '/srv/app');
  assert.deepEqual(config.config.Entrypoint, ['node', '/srv/app/src/main.js']);
});
