import { statSync, writeFileSync, renameSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { setUpCgroup, type ContainerCgroup } from '../cgroups/containerCgroup.js';
import { removeCgroupSoon } from '../cgroups/removeCgroupSoon.js';
import { compileCreatePlan, type RootfsOverlay } from '../plan/compilePlan.js';
import { loadSpec } from '../spec/loadSpec.js';
import type { Spec } from '../../oci/runtimeSpec.js';
import { readProcessStat } from '../state/processInfo.js';
import { StateStore, type StoredState } from '../state/stateStore.js';
import { runHooks } from './hooks.js';
import { launchHelper, type LaunchedHelper } from './launchHelper.js';

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** Unprivileged: cgroups only where writable (delegated), setgroups denied in the user namespace. Default: not root. */
  rootless?: boolean;
  preserveFds?: number;
  /** The container's stdin, stdout, stderr (and preserved fds after them). Default: this process's 0, 1, 2. */
  stdio?: (number | 'pipe' | 'ignore' | 'inherit')[];
  /** Rootfs as an overlay of a shared tree (berth run's image cache); mounted inside the container only. */
  rootfsOverlay?: RootfsOverlay;
  /** Already-loaded spec (library callers); read from BUNDLE/config.json otherwise. */
  spec?: Spec;
  /** Detached runs: the helper stays the container's parent and writes its exit status to this file. */
  statusFile?: string;
}

export interface CreatedContainer {
  store: StateStore;
  state: StoredState;
  helper: LaunchedHelper;
}

/** Create a container: set up everything, leave its process waiting on the exec fifo. */
export async function createContainer(options: CreateOptions, mode: 'create' | 'run' = 'create'): Promise<CreatedContainer> {
  const store = new StateStore(options.root);
  const bundle = resolve(options.bundle);
  const spec = options.spec ?? loadSpec(bundle);
  if (!spec.process) throw new BerthError('CONFIG_INVALID', 'config.json: process is required');
  if (!spec.root) throw new BerthError('CONFIG_INVALID', 'config.json: root is required');
  const rootfs = resolve(bundle, spec.root.path);
  let isDir = false;
  try {
    isDir = statSync(rootfs).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new BerthError('NOT_FOUND', `rootfs ${rootfs} is not a directory`);

  let preserveFds = options.preserveFds ?? 0;
  const extraEnv: string[] = [];
  const listen = Number(process.env.LISTEN_FDS ?? '');
  if (Number.isInteger(listen) && listen > 0) {
    preserveFds += listen;
    extraEnv.push(`LISTEN_FDS=${listen}`, 'LISTEN_PID=1');
  }
  const stdio = options.stdio ?? [0, 1, 2];
  for (let fd = 3; fd < 3 + preserveFds; fd++) stdio[fd] = fd;

  store.claim(options.id);
  let cgroup: ContainerCgroup | undefined;
  let pid = 0;
  try {
    const rootless = options.rootless ?? process.getuid?.() !== 0;
    try {
      cgroup = setUpCgroup(spec.linux?.cgroupsPath || options.id, spec.linux?.resources);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!rootless || !(code === 'EACCES' || code === 'EPERM' || code === 'EROFS')) throw err;
      // As runc rootless: without a delegated cgroup the container runs in ours, and limits cannot apply.
      const r = spec.linux?.resources;
      if (r?.memory || r?.pids || r?.cpu || r?.blockIO || r?.hugepageLimits?.length)
        process.stderr.write('berth-runc: warning: rootless: no writable cgroup, resource limits are not applied\n');
      cgroup = { dirs: [], created: [] };
    }
    const seccomp = spec.linux?.seccomp ? (await import('../seccomp/compileSeccomp.js')).compileSeccomp(spec.linux.seccomp) : undefined;
    const created = new Date().toISOString();
    const stateFor = (status: string, pidValue: number | string) =>
      `{"ociVersion":${JSON.stringify(spec.ociVersion)},"id":${JSON.stringify(options.id)},"status":"${status}","pid":${pidValue},"bundle":${JSON.stringify(bundle)}${spec.annotations ? `,"annotations":${JSON.stringify(spec.annotations)}` : ''}}`;
    const [prefix, suffix] = stateFor('created', '\u0000').split('\u0000') as [string, string];
    const steps = compileCreatePlan({
      hookState: { prefix, suffix },
      seccomp,
      rootfsOverlay: options.rootfsOverlay,
      spec,
      rootfs,
      bundleDir: bundle,
      fifoPath: store.fifoPath(options.id),
      consoleSocket: options.consoleSocket ? resolve(options.consoleSocket) : undefined,
      noPivot: options.noPivot,
      noNewKeyring: options.noNewKeyring,
      denySetgroups: process.getuid?.() !== 0,
      preserveFds,
      extraEnv,
      cgroupProcs: cgroup.dirs.map((d) => join(d.dir, 'cgroup.procs')),
      cgroupViews: cgroup.dirs.map((d) => ({ hostPath: d.dir, name: d.hierarchy.version === 2 && d.hierarchy.mountPoint === '/sys/fs/cgroup' ? '' : basename(d.hierarchy.mountPoint) })),
    });
    const helper = await launchHelper(steps, mode, stdio, (hostPid) => {
      const state = JSON.parse(stateFor('created', hostPid));
      return runHooks(spec, 'prestart', state) ?? runHooks(spec, 'createRuntime', state);
    }, mode === 'run' ? options.statusFile : undefined);
    pid = helper.pid;
    const state: StoredState = {
      id: options.id,
      pid,
      startTime: readProcessStat(pid)?.startTime ?? '',
      bundle,
      rootfs,
      created,
      owner: '',
      cgroupDirs: cgroup.dirs.map((d) => d.dir),
      createdCgroupDirs: cgroup.created,
      freezerDir: cgroup.freezerDir,
      spec,
    };
    store.save(state);
    await helper.ready;
    if (options.pidFile) writePidFile(options.pidFile, pid);
    return { store, state, helper };
  } catch (err) {
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (cgroup) removeCgroupSoon(cgroup);
    store.remove(options.id);
    throw err;
  }
}

function writePidFile(file: string, pid: number): void {
  const path = resolve(file);
  writeFileSync(`${path}.tmp`, String(pid));
  renameSync(`${path}.tmp`, path);
}
