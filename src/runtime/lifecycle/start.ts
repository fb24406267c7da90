import { closeSync, constants, openSync, readSync, unlinkSync } from 'node:fs';
import { BerthError } from '../../errors/BerthError.js';
import { isSameLiveProcess } from '../state/processInfo.js';
import { StateStore, type StoredState } from '../state/stateStore.js';
import { runHooks } from './hooks.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);

/**
 * Let a created container exec its process: read the byte its init writes to the exec fifo.
 * The fifo is opened non-blocking so a process that died while waiting cannot hang us.
 */
export function releaseContainer(store: StateStore, state: StoredState): void {
  const fifo = store.fifoPath(state.id);
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    throw new BerthError('CONTAINER_STATE', `cannot start a container that is not in the created state: ${state.id}`);
  }
  try {
    const byte = Buffer.alloc(1);
    const readByte = (): boolean => {
      try {
        return readSync(fd, byte, 0, 1, null) === 1;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        return false;
      }
    };
    for (let waited = 0; ; waited++) {
      // Liveness first, then the read: a fast process may write its byte, exec and exit between the two.
      const alive = isSameLiveProcess(state.pid, state.startTime);
      if (readByte()) break;
      if (!alive) throw new BerthError('CONTAINER_STATE', `container ${state.id} exited before it was started`);
      sleep(waited < 100 ? 1 : 10);
    }
  } finally {
    closeSync(fd);
  }
  try {
    unlinkSync(fifo);
  } catch {
    // another start raced us; the byte we read is the proof it was us that started it
  }
}

export function startContainer(root: string, id: string): void {
  const store = new StateStore(root);
  const state = store.load(id);
  const status = store.status(state);
  if (status === 'stopped') throw new BerthError('CONTAINER_STATE', 'cannot start a container that has stopped');
  if (status !== 'created') throw new BerthError('CONTAINER_STATE', `cannot start an already ${status} container`);
  releaseContainer(store, state);
  const warning = runHooks(state.spec, 'poststart', store.publicState(state));
  if (warning) process.stderr.write(`berth-runc: warning: ${warning}\n`);
}
