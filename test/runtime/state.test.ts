import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isBerthError } from '../../src/errors/BerthError.js';
import { parseSignal } from '../../src/runtime/lifecycle/signals.js';
import { defaultSpec } from '../../src/runtime/spec/defaultSpec.js';
import { checkContainerId } from '../../src/runtime/state/containerId.js';
import { readProcessStat } from '../../src/runtime/state/processInfo.js';
import { StateStore, type StoredState } from '../../src/runtime/state/stateStore.js';
import { tempDir } from '../support/peers.js';

function stored(id: string, pid: number, startTime: string): StoredState {
  return { id, pid, startTime, bundle: '/b', rootfs: '/b/rootfs', created: '2026-01-01T00:00:00.000Z', owner: '', cgroupDirs: [], createdCgroupDirs: [], spec: defaultSpec() };
}

test('status comes from the live process: a reused pid reads as stopped', (t) => {
  const store = new StateStore(tempDir(t));
  const me = readProcessStat(process.pid)!;
  store.claim('live');
  const live = stored('live', process.pid, me.startTime);
  store.save(live);
  assert.equal(store.status(store.load('live')), 'running');
  writeFileSync(store.fifoPath('live'), '');
  assert.equal(store.status(store.load('live')), 'created', 'an exec fifo still there means not started');
  assert.equal(store.status(stored('x', process.pid, String(Number(me.startTime) + 1))), 'stopped', 'same pid, other start time: not our process');
  assert.equal(store.status(stored('x', 2 ** 22 + 12345, '1')), 'stopped');
  const pub = store.publicState(stored('x', 2 ** 22 + 12345, '1'));
  assert.deepEqual(Object.keys(pub), ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner']);
  assert.equal(pub.pid, 0);
});

test('a second claim of an id fails; unknown ids are CONTAINER_NOT_FOUND', (t) => {
  const root = tempDir(t);
  const store = new StateStore(root);
  store.claim('one');
  assert.throws(() => store.claim('one'), (e) => isBerthError(e, 'ALREADY_EXISTS'));
  assert.throws(() => store.load('two'), (e) => isBerthError(e, 'CONTAINER_NOT_FOUND'));
  mkdirSync(join(root, 'half-made'));
  assert.deepEqual(store.ids(), [], 'directories without state.json are not listed');
});

test('container ids and signals are checked as runc does', () => {
  for (const bad of ['', '../x', 'a/b', '.', '..', 'sp ace']) assert.throws(() => checkContainerId(bad), (e) => isBerthError(e, 'USAGE'), bad);
  assert.equal(checkContainerId('abc-1.2_3+x'), 'abc-1.2_3+x');
  assert.equal(parseSignal('KILL'), 9);
  assert.equal(parseSignal('SIGTERM'), 15);
  assert.equal(parseSignal('10'), 10);
  assert.equal(parseSignal(undefined), 15);
  assert.throws(() => parseSignal('SIGNOPE'), /unknown signal/);
  assert.throws(() => parseSignal('99'), /invalid signal/);
});
