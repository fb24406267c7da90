import { BerthError } from '../../errors/BerthError.js';
import { cgroupPids } from '../cgroups/containerCgroup.js';
import { StateStore } from '../state/stateStore.js';
import { parseSignal } from './signals.js';

export function killContainer(root: string, id: string, signal: string | undefined, all: boolean): void {
  const store = new StateStore(root);
  const state = store.load(id);
  const sig = parseSignal(signal);
  if (store.status(state) === 'stopped') throw new BerthError('CONTAINER_STATE', 'container not running');
  const pids = all ? cgroupPids(state.cgroupDirs) : [state.pid];
  if (!pids.includes(state.pid)) pids.push(state.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}
