import { writeFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { compileExecPlan } from '../plan/compileExecPlan.js';
import type { ProcessSpec } from '../../oci/runtimeSpec.js';
import { StateStore } from '../state/stateStore.js';
import { launchHelper } from './launchHelper.js';

export interface ExecOptions {
  root: string;
  id: string;
  process: ProcessSpec;
  detach?: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds?: number;
  stdio?: (number | 'pipe' | 'ignore' | 'inherit')[];
}

const forwarded: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** Run a new process in a running container; in the foreground, return its exit status (128+signal when killed). */
export async function execInContainer(options: ExecOptions): Promise<number> {
  const store = new StateStore(options.root);
  const state = store.load(options.id);
  const status = store.status(state);
  if (status === 'stopped') throw new BerthError('CONTAINER_STATE', 'cannot exec in a stopped container');
  if (status === 'paused') throw new BerthError('CONTAINER_STATE', 'cannot exec in a paused container');
  const preserveFds = options.preserveFds ?? 0;
  const stdio = options.stdio ?? [0, 1, 2];
  for (let fd = 3; fd < 3 + preserveFds; fd++) stdio[fd] = fd;
  const seccomp = state.spec.linux?.seccomp ? (await import('../seccomp/compileSeccomp.js')).compileSeccomp(state.spec.linux.seccomp) : undefined;
  const steps = compileExecPlan({
    seccomp,
    spec: state.spec,
    pid: state.pid,
    process: options.process,
    cgroupProcs: state.cgroupDirs.map((d) => join(d, 'cgroup.procs')),
    consoleSocket: options.consoleSocket ? resolve(options.consoleSocket) : undefined,
    preserveFds,
  });
  const helper = await launchHelper(steps, options.detach ? 'create' : 'exec', stdio);
  await helper.ready;
  if (options.pidFile) {
    const path = resolve(options.pidFile);
    writeFileSync(`${path}.tmp`, String(helper.pid));
    renameSync(`${path}.tmp`, path);
  }
  if (options.detach) return 0;
  const onSignal = (sig: NodeJS.Signals) => helper.child.kill(sig);
  for (const sig of forwarded) process.on(sig, onSignal);
  const code = await helper.exited;
  for (const sig of forwarded) process.off(sig, onSignal);
  return code;
}
