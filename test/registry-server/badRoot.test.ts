import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../support/peers.js';
import { berth } from '../support/runCli.js';

test('registry serve with a root that cannot be made says so in one line and exits non-zero (no spinning)', (t) => {
  const file = join(tempDir(t, 'berth-badroot-'), 'a-file');
  writeFileSync(file, '');
  for (const root of ['/proc/berth-no-such-dir', join(file, 'registry')]) {
    const r = berth(['registry', 'serve', '--addr', '127.0.0.1:0', '--root', root], { timeoutMs: 10_000 });
    assert.equal(r.status, 1, `${root}: ${r.stderr}`);
    assert.match(r.stderr, /^berth: cannot create the registry's storage directory .*\n$/);
  }
});

test('registry gc of a root that does not exist fails instead of reporting a clean registry', () => {
  const r = berth(['registry', 'gc', '--root', '/nonexistent/registry']);
  assert.equal(r.status, 3);
  assert.equal(r.stderr, 'berth: registry gc: /nonexistent/registry is not a registry\'s storage (no such directory)\n');
  assert.equal(r.stdout, '');
});
