import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { berthRuncBin } from '../support/peers.js';

const berthRunc = (args: string[]) => spawnSync(process.execPath, [berthRuncBin, ...args], { encoding: 'utf8' });

test('berth-runc CMD --help prints that command\'s usage and options and exits 0, as runc does', () => {
  for (const help of ['--help', '-h']) {
    const r = berthRunc(['run', help]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: berth-runc run /);
    assert.match(r.stdout, /create and start a container/);
    assert.match(r.stdout, /--bundle, -b value/);
    assert.match(r.stdout, /--detach, -d\n/);
  }
  const state = berthRunc(['state', '--help']);
  assert.equal(state.status, 0);
  assert.match(state.stdout, /^Usage: berth-runc state /);
});

test('berth-runc names itself once in an error', () => {
  const r = berthRunc(['--frobnicate']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'berth-runc: flag provided but not defined: --frobnicate\n');
});
