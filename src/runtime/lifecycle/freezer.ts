import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { StateStore } from '../state/stateStore.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Freeze or thaw every process of a container through its v1 freezer cgroup. */
export function setFrozen(root: string, id: string, frozen: boolean): void {
  const store = new StateStore(root);
  const state = store.load(id);
  const status = store.status(state);
  if (frozen && status !== 'running') throw new BerthError('CONTAINER_STATE', `container not running: ${status}`);
  if (!frozen && status !== 'paused') throw new BerthError('CONTAINER_STATE', `container not paused: ${status}`);
  if (!state.freezerDir) throw new BerthError('UNSUPPORTED', 'the freezer cgroup controller is not mounted');
  const file = join(state.freezerDir, 'freezer.state');
  const want = frozen ? 'FROZEN' : 'THAWED';
  for (let i = 0; i < 1000; i++) {
    writeFileSync(file, want);
    if (readFileSync(file, 'utf8').trim() === want) return;
    Atomics.wait(sleeper, 0, 0, 1); // FREEZING: the kernel is still getting every task to stop
  }
  throw new BerthError('RUNTIME_ERROR', `container ${id} did not reach ${want}`);
}
