import assert from 'node:assert/strict';
import { test } from 'node:test';
import { berth } from '../support/runCli.js';
import { requireRuntime } from '../runtime/support/busyboxBundle.js';
import { berthSandbox } from '../runtime/support/berthSandbox.js';

test('berth run parses its flags with berth\'s parser: unknown ones are refused in one line, as every command does', () => {
  const r = berth(['run', '--no-such-flag', 'busybox', 'true']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'berth: run: unknown flag --no-such-flag (see berth run --help)\n');
});

test('berth run: flags stop at IMAGE; repeated -e, combined -it-style booleans and the container\'s own flags all arrive', async (t) => {
  if (!requireRuntime(t)) return;
  const s = await berthSandbox(t, 'berth-run-flags-');
  const r = s.berth(['run', '--rm', '-e', 'A=1', '-e', 'B=2', '--hostname=h', '-i', `oci:${s.layout}:bb`, 'sh', '-c', 'echo $A$B $(hostname) "$@"', 'x', '--rm', '-e', 'C=3'], { input: '' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '12 h --rm -e C=3\n');
});
