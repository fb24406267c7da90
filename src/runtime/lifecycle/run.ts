import { deleteContainer } from './delete.js';
import { createContainer, type CreateOptions } from './create.js';
import { runHooks } from './hooks.js';
import { releaseContainer } from './start.js';

export interface RunOptions extends CreateOptions {
  detach?: boolean;
  keep?: boolean;
}

const forwarded: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/**
 * create + start in one go. In the foreground the helper stays the container's parent and
 * its exit status is the container's (128+signal when killed); the container is deleted after unless keep.
 */
export async function runContainer(options: RunOptions): Promise<number> {
  // A detached container with a status file keeps its helper as parent (run mode), which records the exit status.
  const created = await createContainer(options, options.detach && !options.statusFile ? 'create' : 'run');
  const { store, state, helper } = created;
  const onSignal = (sig: NodeJS.Signals) => helper.child.kill(sig);
  try {
    releaseContainer(store, state);
    const warning = runHooks(state.spec, 'poststart', store.publicState(state));
    if (warning) process.stderr.write(`berth-runc: warning: ${warning}\n`);
  } catch (err) {
    deleteContainer(options.root, options.id, true);
    throw err;
  }
  if (options.detach) return 0;
  for (const sig of forwarded) process.on(sig, onSignal);
  const status = await helper.exited;
  for (const sig of forwarded) process.off(sig, onSignal);
  if (!options.keep) deleteContainer(options.root, options.id, true);
  return status;
}
