import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isRoot, tempDir } from '../support/peers.js';

const repo = new URL('../../../', import.meta.url).pathname;

/** The ```ts blocks of docs/library.md that name a file (`// file: NAME.ts`), in order. */
function examples(): { name: string; code: string }[] {
  const doc = readFileSync(join(repo, 'docs/library.md'), 'utf8');
  return [...doc.matchAll(/```ts\n\/\/ file: (\S+)\n([\s\S]*?)```/g)].map((m) => ({ name: m[1] as string, code: m[2] as string }));
}

test('docs/library.md: every example type-checks against the packed declarations and runs from the installed package', async (t) => {
  const found = examples();
  assert.deepEqual(found.map((e) => e.name), ['build.ts', 'copy.ts', 'push.ts', 'sign.ts', 'run.ts']);
  const dir = tempDir(t, 'berth-library-');

  // The package as published: `npm pack` (without scripts: dist/ is already built) unpacked where a project
  // installs it; its dependencies are the repository's own, as an offline install would link them.
  const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: repo, encoding: 'utf8' }).trim().split('\n').pop() as string;
  const project = join(dir, 'project');
  const installed = join(project, 'node_modules', 'berth');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(dir, packed), '-C', installed, '--strip-components=1']);
  symlinkSync(join(repo, 'node_modules'), join(installed, 'node_modules'));
  assert.ok(!existsSync(join(installed, 'dist/test')), 'tests are not part of the package');
  assert.ok(existsSync(join(installed, 'dist/src/index.d.ts')), 'declarations are part of the package');

  const src = join(project, 'src');
  mkdirSync(src);
  for (const e of found) writeFileSync(join(src, e.name), `${e.code}export {};\n`);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', type: 'module', private: true }));
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', rootDir: 'src', typeRoots: [join(repo, 'node_modules/@types')], types: ['node'] },
      include: ['src'],
    }),
  );
  // Type-checked against the package's own .d.ts (skipLibCheck off: the declarations must be sound too).
  const checked = spawnSync(join(repo, 'node_modules/.bin/tsc'), ['-p', project], { encoding: 'utf8' });
  assert.equal(checked.status, 0, checked.stdout + checked.stderr);

  const rootfs = join(project, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  const busybox = existsSync('/bin/busybox');
  if (busybox) {
    copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
    symlinkSync('busybox', join(rootfs, 'bin/sh'));
    symlinkSync('busybox', join(rootfs, 'bin/echo'));
  } else writeFileSync(join(rootfs, 'bin/placeholder'), 'a file to put in the layer\n');

  const run = (name: string) => {
    const r = spawnSync(process.execPath, [join(project, 'out', name.replace(/\.ts$/, '.js'))], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${name}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  assert.match(run('build.ts'), /^built sha256:[0-9a-f]{64} \(2 blobs\)\n$/);
  assert.match(run('copy.ts'), /^copied sha256:[0-9a-f]{64} twice; same digest: true\n$/);
  assert.match(run('push.ts'), /^pushed sha256:[0-9a-f]{64}; tags: 1\n$/);
  assert.match(run('sign.ts'), /^signed and verified sha256:[0-9a-f]{64} as registry\.example\/demo\/hello:1\n$/);
  const layout = JSON.parse(readFileSync(join(project, 'hello/index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
  assert.ok(layout.manifests.some((m) => m.annotations?.['org.opencontainers.image.ref.name']?.endsWith('.sig')), 'the signature is stored in the layout');

  if (!isRoot() || !busybox) return t.skip('run.ts needs root and /bin/busybox (busybox-static)');
  if (!existsSync(join(repo, 'dist/native/berth-runc-init'))) return t.skip('run.ts needs the C helper (dist/native)');
  assert.equal(run('run.ts'), 'hello from berth\n');
});
