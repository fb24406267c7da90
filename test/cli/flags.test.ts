import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempDir } from '../support/peers.js';
import { berth } from '../support/runCli.js';

test('a documented --no-* flag is that flag (berth images --no-trunc), not the negation of an unknown one', (t) => {
  const root = tempDir(t, 'berth-flags-');
  const r = berth(['images', '--no-trunc'], { env: { BERTH_ROOT: root } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^REPOSITORY/);
  // --no-X of a declared X still negates it (registry serve's --no-delete).
  assert.equal(berth(['images', '--no-such'], { env: { BERTH_ROOT: root } }).status, 2);
});

test('boolean flags take only true or false: a typo is a usage error, never "yes"', () => {
  for (const args of [['inspect', '--tls-verify=nope', 'docker://127.0.0.1:9/x'], ['copy', '--src-tls-verify=1', 'oci:/nonexistent:a', 'oci:/nonexistent:b']]) {
    const r = berth(args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^berth: \w+: --[\w-]+ takes true or false, not "(nope|1)"\n$/);
  }
});

test('berth help COMMAND prints the command\'s help', () => {
  const help = berth(['help', 'copy']);
  assert.equal(help.status, 0);
  assert.equal(help.stdout, berth(['copy', '--help']).stdout);
  assert.match(help.stdout, /^Usage: berth copy/);
  const unknown = berth(['help', 'frobnicate']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});
