import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageFile } from '../../src/packageFile.js';
import { tempDir } from '../support/peers.js';
import { berthSandbox } from './support/berthSandbox.js';

const compilers = /^(cc|c89|c99|gcc|g\+\+|clang|tcc|.*-gcc(-\d+)?)$/;

/** A PATH with every program of the host's except a C compiler, as in node:slim or a distroless CI image. */
function pathWithoutCompiler(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const from of ['/usr/local/bin', '/usr/bin', '/bin']) {
    for (const name of readdirSync(from)) {
      if (compilers.test(name)) continue;
      try {
        symlinkSync(join(from, name), join(bin, name));
      } catch {
        // the same name earlier on the PATH wins
      }
    }
  }
  return bin;
}

test('without a C compiler the package build succeeds with one note, and copy and inspect work', async (t) => {
  const s = await berthSandbox(t, 'berth-nocc-');
  const PATH = pathWithoutCompiler(tempDir(t, 'berth-nocc-path-'));
  const env = { ...s.env, PATH, CC: 'cc' };
  const optional = spawnSync('sh', [packageFile('src/runtime/native/build.sh'), '--optional'], { env, encoding: 'utf8' });
  assert.equal(optional.status, 0, optional.stderr);
  assert.match(optional.stderr, /needs a C compiler[\s\S]*npm run build:native/);
  const required = spawnSync('sh', [packageFile('src/runtime/native/build.sh')], { env, encoding: 'utf8' });
  assert.equal(required.status, 1, 'npm run build:native itself still fails without a compiler');

  assert.equal(s.berth(['copy', `oci:${s.layout}:bb`, `oci:${join(s.dir, 'copy')}:bb`], { env }).status, 0);
  const inspect = s.berth(['inspect', `oci:${join(s.dir, 'copy')}:bb`], { env });
  assert.equal(inspect.status, 0, inspect.stderr);
  assert.equal(JSON.parse(inspect.stdout).Os, 'linux');
});

test('berth run without berth-runc\'s helper says in one line how to build it', async (t) => {
  const s = await berthSandbox(t, 'berth-nohelper-');
  const r = s.berth(['run', '--rm', `oci:${s.layout}:bb`, 'true'], { env: { ...s.env, BERTH_RUNC_INIT: join(s.dir, 'absent') } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /^berth: .*not built.*npm run build:native.*C compiler.*\n$/);
});
