import { existsSync, writeFileSync } from 'node:fs';
import { BerthError } from '../../errors/BerthError.js';
import { cgroupPids } from '../cgroups/containerCgroup.js';
import { removeCgroupSoon } from '../cgroups/removeCgroupSoon.js';
import { isSameLiveProcess } from '../state/processInfo.js';
import { StateStore, type StoredState } from '../state/stateStore.js';
import { runHooks } from './hooks.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function killAll(state: StoredState): void {
  for (const pid of new Set([state.pid, ...cgroupPids(state.cgroupDirs)])) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (let i = 0; i < 500 && isSameLiveProcess(state.pid, state.startTime); i++) Atomics.wait(sleeper, 0, 0, 10);
}

/** Delete a stopped container (or, with force, any): kill, remove cgroups and state, then poststop hooks. */
export function deleteContainer(root: string, id: string, force: boolean): void {
  const store = new StateStore(root);
  let state: StoredState;
  try {
    state = store.load(id);
  } catch (err) {
    // A create that died half-way leaves a directory without state: force removes it.
    if (force && existsSync(store.dir(id))) {
      store.remove(id);
      return;
    }
    if (force) return;
    throw err;
  }
  const status = store.status(state);
  if (status !== 'stopped') {
    if (status !== 'created' && !force) throw new BerthError('CONTAINER_STATE', `cannot delete container ${id} that is not stopped: ${status}`);
    if (status === 'paused' && state.freezerDir) thaw(state.freezerDir);
    killAll(state);
  }
  removeCgroupSoon({ created: state.createdCgroupDirs ?? [] });
  const pub = { ...store.publicState(state), status: 'stopped' as const };
  store.remove(id);
  const warning = runHooks(state.spec, 'poststop', pub);
  if (warning) process.stderr.write(`berth-runc: warning: ${warning}\n`);
}

/** A frozen task cannot die: thaw it so SIGKILL lands. */
function thaw(dir: string): void {
  try {
    writeFileSync(`${dir}/freezer.state`, 'THAWED');
  } catch {
    // no freezer left: nothing to thaw
  }
}
