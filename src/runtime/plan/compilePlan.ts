import { posix } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import type { CompiledSeccomp } from '../seccomp/compileSeccomp.js';
import type { Hook, ProcessSpec, Spec } from '../../oci/runtimeSpec.js';
import { capabilityMask } from './capabilities.js';
import { MS, parseMountOptions, propagationFlag } from './mountOptions.js';
import { joinOrder, namespaceKind } from './namespaces.js';
import type { PlanStep } from './ops.js';
import { rlimitNumber } from './rlimits.js';

/** A cgroup hierarchy the container's cgroup mount shows: host directory of its cgroup, and the name under /sys/fs/cgroup. */
export interface CgroupView {
  hostPath: string;
  name: string;
}

export interface RootfsOverlay {
  /** One directory, or several top first (overlay's lowerdir list: a build stage's layers). */
  lower: string | string[];
  upper: string;
  work: string;
}

export interface PlanInput {
  spec: Spec;
  /** Absolute host path of the rootfs. */
  rootfs: string;
  /** create: wait on fifoPath before exec; run uses the fifo too, the caller opens it at once. */
  fifoPath: string;
  consoleSocket?: string;
  noPivot?: boolean;
  /** runc's --no-new-keyring: keep the caller's session keyring. */
  noNewKeyring?: boolean;
  /** An unprivileged caller must write "deny" to setgroups before it may write a gid_map. */
  denySetgroups?: boolean;
  preserveFds?: number;
  /** cgroup.procs files the init joins before it is cloned. */
  cgroupProcs?: string[];
  cgroupViews?: CgroupView[];
  /** Bind sources that are relative resolve against the bundle. */
  bundleDir: string;
  /** Extra environment (LISTEN_FDS) appended to process.env. */
  extraEnv?: string[];
  /** The state JSON hooks read on stdin, split where the C side splices in the container's host pid. */
  hookState?: { prefix: string; suffix: string };
  /** Mount the rootfs as an overlay of a shared read-only tree (berth run's image cache) inside the container's mount namespace. */
  rootfsOverlay?: RootfsOverlay;
  /** linux.seccomp compiled (compileSeccomp); loaded lazily by callers, as the syscall tables cost start-up time. */
  seccomp?: CompiledSeccomp;
}

const defaultDevices = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
];

const s = (v: number | bigint): string => String(v);

/**
 * Compile a validated config.json into the ordered steps the C helper performs.
 * All policy lives here: what to create or join, in which order, with which flags.
 */
export function compileCreatePlan(input: PlanInput): PlanStep[] {
  const { spec } = input;
  const proc = spec.process;
  if (!proc) throw new BerthError('CONFIG_INVALID', 'config.json: process is required to create a container');
  const steps: PlanStep[] = [];
  const linux = spec.linux ?? {};
  // Confinement that cannot be given is refused, never silently dropped (runc does the same without AppArmor/SELinux).
  if (proc.apparmorProfile) throw new BerthError('UNSUPPORTED', `process.apparmorProfile "${proc.apparmorProfile}": berth-runc does not apply AppArmor profiles`);
  if (proc.selinuxLabel || linux.mountLabel) throw new BerthError('UNSUPPORTED', 'SELinux labels (process.selinuxLabel, linux.mountLabel): berth-runc does not apply SELinux labels');
  const namespaces = linux.namespaces ?? [];
  const types = new Set(namespaces.map((n) => n.type));
  // Without a mount namespace the container inherits the runtime's mounts and root (runtime-spec), as with runc:
  // nothing is mounted, pivoted or masked then, because each of those would change the host's own tree.
  const ownMounts = types.has('mount');
  if (!ownMounts) {
    const needs = (what: string): BerthError => new BerthError('CONFIG_INVALID', `config.json: ${what}: only with a private mount namespace (add one to linux.namespaces)`);
    if (linux.maskedPaths?.length || linux.readonlyPaths?.length) throw needs('linux.maskedPaths and linux.readonlyPaths');
    if (spec.root?.readonly) throw needs('a read-only root (root.readonly)');
    if (input.rootfsOverlay) throw needs('an overlay rootfs');
    if (linux.rootfsPropagation) throw needs('linux.rootfsPropagation');
  }
  if (spec.hostname !== undefined && !types.has('uts')) throw new BerthError('CONFIG_INVALID', 'config.json: hostname needs a new uts namespace');
  if (spec.domainname !== undefined && !types.has('uts')) throw new BerthError('CONFIG_INVALID', 'config.json: domainname needs a new uts namespace');
  for (const key of Object.keys(linux.sysctl ?? {})) {
    const owner = sysctlNamespace(key.replace(/\//g, '.'));
    // A sysctl outside the container's own namespaces would change the host's kernel settings (runc refuses too).
    if (!owner) throw new BerthError('CONFIG_INVALID', `config.json: sysctl "${key}" is not namespaced; a container may not set it`);
    if (!types.has(owner)) throw new BerthError('CONFIG_INVALID', `config.json: sysctl "${key}" needs the container's own ${owner} namespace`);
  }
  const userNs = namespaces.find((n) => n.type === 'user');
  if ((linux.uidMappings?.length || linux.gidMappings?.length) && !(userNs && !userNs.path))
    throw new BerthError('CONFIG_INVALID', 'config.json: uid/gid mappings need a new user namespace');

  // --- outer process: host paths first (the fifo, cgroups), then join namespaces, clone ---
  steps.push({ op: 'OPEN_FIFO', args: [input.fifoPath] });
  for (const file of input.cgroupProcs ?? []) steps.push({ op: 'CGROUP_JOIN', args: [file] });
  let cloneFlags = 0;
  for (const type of joinOrder) {
    const ns = namespaces.find((n) => n.type === type);
    if (!ns) continue;
    const kind = namespaceKind(type);
    if (ns.path) steps.push({ op: 'SETNS', args: [ns.path, s(kind.flag)] });
  }
  for (const ns of namespaces) {
    const kind = namespaceKind(ns.type);
    if (!ns.path && ns.type !== 'time') cloneFlags |= kind.flag;
  }
  if (types.has('time') && !namespaces.find((n) => n.type === 'time')?.path) {
    const offsets = Object.entries(linux.timeOffsets ?? {}).map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}`);
    steps.push({ op: 'TIMENS', args: [offsets.join('\n')] });
  } else if (linux.timeOffsets && Object.keys(linux.timeOffsets).length > 0) {
    throw new BerthError('CONFIG_INVALID', 'config.json: linux.timeOffsets need a new time namespace');
  }
  if (userNs && !userNs.path) {
    if (!linux.uidMappings?.length || !linux.gidMappings?.length) throw new BerthError('CONFIG_INVALID', 'config.json: a new user namespace needs uidMappings and gidMappings');
    if (input.denySetgroups) steps.push({ op: 'DENY_SETGROUPS', args: [] });
    steps.push({ op: 'UID_MAP', args: [linux.uidMappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('')] });
    steps.push({ op: 'GID_MAP', args: [linux.gidMappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('')] });
  }
  steps.push({ op: 'CLONE', args: [s(cloneFlags)] });

  // --- the container's init, in order ---
  if (proc.terminal) {
    if (!input.consoleSocket) throw new BerthError('USAGE', 'process.terminal is true: --console-socket is required (or set terminal to false)');
    steps.push({ op: 'CONSOLE_SOCKET', args: [input.consoleSocket] });
  } else {
    steps.push({ op: 'SETSID', args: [] });
  }
  if (!input.noNewKeyring) steps.push({ op: 'NEW_KEYRING', args: [] });
  if (ownMounts) steps.push(...rootfsSteps(spec, input));
  // prestart/createRuntime: the caller runs them in its namespaces while we wait, before pivot_root.
  if (spec.hooks?.prestart?.length || spec.hooks?.createRuntime?.length) steps.push({ op: 'SYNC_HOOKS', args: [] });
  // createContainer: in the container's namespaces, before pivot_root (its path resolves as on the host).
  steps.push(...hookSteps(spec.hooks?.createContainer, input.hookState));
  if (ownMounts) steps.push({ op: input.noPivot ? 'NO_PIVOT' : 'PIVOT_ROOT', args: [] });
  if (linux.rootfsPropagation) steps.push({ op: 'ROOT_PROPAGATION', args: [s(propagationFlag(linux.rootfsPropagation))] });
  if (proc.terminal) steps.push({ op: 'CONSOLE_SETUP', args: consoleSize(proc) });
  for (const [key, value] of Object.entries(linux.sysctl ?? {})) steps.push({ op: 'SYSCTL', args: [key, value] });
  for (const p of linux.maskedPaths ?? []) steps.push({ op: 'MASK', args: [p] });
  for (const p of linux.readonlyPaths ?? []) steps.push({ op: 'READONLY', args: [p] });
  if (spec.root?.readonly) steps.push({ op: 'ROOT_READONLY', args: [] });
  if (spec.hostname !== undefined) steps.push({ op: 'HOSTNAME', args: [spec.hostname] });
  if (spec.domainname !== undefined) steps.push({ op: 'DOMAINNAME', args: [spec.domainname] });
  steps.push(...processSteps(proc, { preserveFds: input.preserveFds ?? 0, extraEnv: input.extraEnv ?? [], seccomp: input.seccomp, waitFifo: true, startHooks: hookSteps(spec.hooks?.startContainer, input.hookState) }));
  return steps;
}

/** The namespace a sysctl belongs to (as runc allows them), or undefined for one that is global to the host. */
function sysctlNamespace(name: string): 'network' | 'ipc' | 'uts' | undefined {
  if (name.startsWith('net.')) return 'network';
  if (name.startsWith('fs.mqueue.') || ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'].includes(name)) return 'ipc';
  if (name === 'kernel.hostname' || name === 'kernel.domainname') return 'uts';
  return undefined;
}

/** The rootfs in the container's own mount namespace: propagation, the root, mounts, /dev, the cwd. */
function rootfsSteps(spec: Spec, input: PlanInput): PlanStep[] {
  const steps: PlanStep[] = [];
  const linux = spec.linux ?? {};
  // As runc: rootfsPropagation (default rslave) applies to the whole tree first, and again to the new root after pivot_root.
  const rootPropagation = linux.rootfsPropagation ? propagationFlag(linux.rootfsPropagation) : MS.SLAVE | MS.REC;
  steps.push({ op: 'ROOT_PROPAGATION', args: [s(rootPropagation)] });
  if (input.rootfsOverlay) {
    const { upper, work } = input.rootfsOverlay;
    const lower = [input.rootfsOverlay.lower].flat();
    if ([...lower, upper, work].some((p) => /[,:\\]/.test(p) || !p.startsWith('/'))) throw new BerthError('USAGE', 'overlay rootfs paths must be absolute and free of "," ":" "\\"');
    steps.push({ op: 'ROOTFS_OVERLAY', args: [lower.join(':'), upper, work, input.rootfs] });
  }
  steps.push({ op: 'ROOTFS', args: [input.rootfs] });
  let devIsTmpfs = false;
  let hasDevPts = false;
  for (const m of spec.mounts ?? []) {
    const dest = posix.normalize(m.destination);
    const opts = parseMountOptions(m.options ?? []);
    const type = m.type ?? '';
    const isBind = (opts.flags & MS.BIND) !== 0 || type === 'bind';
    if (dest === '/dev' && !isBind) devIsTmpfs = true;
    if (dest === '/dev/pts') hasDevPts = true;
    if (type === 'cgroup') {
      steps.push(...cgroupMountSteps(dest, opts.flags, input.cgroupViews ?? []));
      continue;
    }
    let source = m.source ?? '';
    if (isBind) {
      if (!source) throw new BerthError('CONFIG_INVALID', `config.json: bind mount on ${dest} has no source`);
      source = posix.resolve(input.bundleDir, source);
      const bindFlags = MS.BIND | (opts.flags & MS.REC);
      const rest = opts.flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
      steps.push({ op: 'MOUNT', args: [source, dest, '', s(bindFlags), '', s(rest), s(opts.propagation)] });
    } else {
      steps.push({ op: 'MOUNT', args: [source || type, dest, type, s(opts.flags & ~MS.REMOUNT), opts.data, '0', s(opts.propagation)] });
    }
  }
  if (devIsTmpfs) {
    const uid = 0;
    const seen = new Set<string>();
    for (const d of linux.devices ?? []) {
      seen.add(posix.normalize(d.path));
      const type = d.type === 'u' ? 'c' : d.type;
      steps.push({ op: 'MKNOD', args: [d.path, type, s(d.major ?? 0), s(d.minor ?? 0), s(d.fileMode ?? 0o666), s(d.uid ?? uid), s(d.gid ?? 0), d.path] });
    }
    for (const d of defaultDevices) {
      if (seen.has(d.path)) continue;
      steps.push({ op: 'MKNOD', args: [d.path, 'c', s(d.major), s(d.minor), s(0o666), '0', '0', d.path] });
    }
    steps.push({ op: 'SYMLINK', args: ['/proc/self/fd', '/dev/fd'] });
    steps.push({ op: 'SYMLINK', args: ['/proc/self/fd/0', '/dev/stdin'] });
    steps.push({ op: 'SYMLINK', args: ['/proc/self/fd/1', '/dev/stdout'] });
    steps.push({ op: 'SYMLINK', args: ['/proc/self/fd/2', '/dev/stderr'] });
    if (hasDevPts) steps.push({ op: 'SYMLINK', args: ['pts/ptmx', '/dev/ptmx'] });
  }
  // As runc: a missing cwd is created (inside the root) before the root may turn read-only.
  steps.push({ op: 'MKDIR', args: [spec.process!.cwd] });
  return steps;
}

function hookSteps(hooks: Hook[] | undefined, state: PlanInput['hookState']): PlanStep[] {
  return (hooks ?? []).map((h) => ({
    op: 'HOOK' as const,
    args: [h.path, s(h.timeout ?? 0), state?.prefix ?? '{"pid":', state?.suffix ?? '}', s(h.args?.length ?? 0), ...(h.args ?? []), ...(h.env ?? [])],
  }));
}

export const consoleSize = (proc: ProcessSpec): string[] => (proc.consoleSize ? [s(proc.consoleSize.height), s(proc.consoleSize.width)] : []);

/** Steps that set up the process itself; shared by create and exec. */
export function processSteps(
  proc: ProcessSpec,
  options: { preserveFds: number; extraEnv: string[]; seccomp?: CompiledSeccomp; waitFifo: boolean; startHooks?: PlanStep[] },
): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const r of proc.rlimits ?? []) steps.push({ op: 'RLIMIT', args: [s(rlimitNumber(r.type)), s(r.soft), s(r.hard)] });
  if (proc.oomScoreAdj !== undefined) steps.push({ op: 'OOM_SCORE_ADJ', args: [s(proc.oomScoreAdj)] });
  if (proc.user.umask !== undefined) steps.push({ op: 'UMASK', args: [s(proc.user.umask)] });
  if (proc.noNewPrivileges) steps.push({ op: 'NO_NEW_PRIVS', args: [] });
  const caps = proc.capabilities ?? {};
  steps.push({ op: 'CAP_BOUNDING', args: [s(capabilityMask(caps.bounding, 'process.capabilities.bounding'))] });
  const bpf = options.seccomp;
  const seccompStep: PlanStep | undefined = bpf ? { op: 'SECCOMP', args: [bpf.program, s(bpf.flags)] } : undefined;
  // Without no_new_privs the filter needs CAP_SYS_ADMIN, so it goes on before privileges are dropped.
  if (seccompStep && !proc.noNewPrivileges) steps.push(seccompStep);
  steps.push({ op: 'USER', args: [s(proc.user.uid), s(proc.user.gid), (proc.user.additionalGids ?? []).join(',')] });
  steps.push({
    op: 'CAPS',
    args: [
      s(capabilityMask(caps.effective, 'process.capabilities.effective')),
      s(capabilityMask(caps.permitted, 'process.capabilities.permitted')),
      s(capabilityMask(caps.inheritable, 'process.capabilities.inheritable')),
      s(capabilityMask(caps.ambient, 'process.capabilities.ambient')),
    ],
  });
  steps.push({ op: 'CWD', args: [proc.cwd] });
  for (const e of [...(proc.env ?? []), ...options.extraEnv]) steps.push({ op: 'ENV', args: [e] });
  for (const a of proc.args) steps.push({ op: 'ARG', args: [a] });
  steps.push({ op: 'PRESERVE_FDS', args: [s(options.preserveFds)] });
  steps.push({ op: options.waitFifo ? 'WAIT_FIFO' : 'READY', args: [] });
  // startContainer: after start, in the container, right before the user process.
  steps.push(...(options.startHooks ?? []));
  steps.push({ op: 'CLOSE_FDS', args: [] });
  if (seccompStep && proc.noNewPrivileges) steps.push(seccompStep);
  steps.push({ op: 'EXEC', args: [] });
  return steps;
}

/** v1 hierarchies are shown as a read-only tmpfs with the container's own cgroup of each controller bound in. */
function cgroupMountSteps(dest: string, flags: number, views: CgroupView[]): PlanStep[] {
  const base = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  const steps: PlanStep[] = [{ op: 'MOUNT', args: ['tmpfs', dest, 'tmpfs', s(base), 'mode=755', '0', '0'] }];
  for (const view of views) {
    const remount = (flags & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC)) | base;
    steps.push({ op: 'MOUNT', args: [view.hostPath, posix.join(dest, view.name), '', s(MS.BIND | MS.REC), '', s(remount), '0'] });
  }
  if (flags & MS.RDONLY) steps.push({ op: 'MOUNT', args: ['', dest, '', '0', '', s(MS.RDONLY | base), '0'] });
  return steps;
}
