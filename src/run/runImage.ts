import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isatty } from 'node:tty';
import { readImageConfig, selectImageManifest } from '../image/selectImage.js';
import { BerthError, isBerthError } from '../errors/BerthError.js';
import type { ImageConfig } from '../oci/config.js';
import { hostPlatform } from '../oci/platform.js';
import { isFullyQualified } from '../reference/dockerReference.js';
import { RootfsCache } from '../store/rootfsCache.js';
import type { RootfsOverlay } from '../runtime/plan/compilePlan.js';
import '../transports/allTransports.js';
import { parseImageReference } from '../transports/transportRegistry.js';
import type { ImageSource, TransportOptions } from '../transports/types.js';
import { capabilityNumbers } from '../runtime/plan/capabilities.js';
import type { Spec } from '../oci/runtimeSpec.js';
import { ContainerRecords, type ContainerRecord } from './containerRecords.js';
import { RuntimeClient } from './runtimeClient.js';
import { runInRootfs, type RunInRootfsOptions } from './runInRootfs.js';
import { startConsoleRelay, type RelayExit } from '../runtime/console/consoleRelay.js';

export interface RunImageOptions {
  image: string;
  /** Replaces the image's Cmd (the Entrypoint stays, as with podman). */
  command?: string[];
  /** Replaces the image's Entrypoint ("" clears it). */
  entrypoint?: string;
  name?: string;
  rm?: boolean;
  detach?: boolean;
  env?: string[];
  envFiles?: string[];
  user?: string;
  workdir?: string;
  /** SRC:DST[:ro|rw] bind mounts. */
  volumes?: string[];
  network?: 'none' | 'host';
  tty?: boolean;
  interactive?: boolean;
  hostname?: string;
  readOnly?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  memory?: number;
  cpus?: number;
  pidsLimit?: number;
  /** A runc-CLI runtime executable; berth-runc (in-process) when unset. */
  runtime?: string;
  storeRoot?: string;
  transportOptions?: TransportOptions;
  onProgress?: (message: string) => void;
}

export interface RunImageResult {
  id: string;
  name: string;
  /** The container's exit status (0 for a detached start). */
  status: number;
}

/** When a named image is pulled into the local store: podman's and buildah's --pull. */
export type PullPolicy = 'always' | 'missing' | 'never';

/**
 * Open IMAGE: a bare name (or berth:) from the local store, else pulled over docker:// (short names through
 * registries.conf, trust policy applied) into it; `pull` 'always' pulls first, 'never' only reads the store. Other
 * transports are read where they are. The pull's modules (copy pipeline, signature policy) load only when a pull
 * happens: a run from the store is most runs, and their start-up is the point.
 */
export async function openImage(options: Pick<RunImageOptions, 'image' | 'transportOptions' | 'storeRoot' | 'onProgress'> & { pull?: PullPolicy }): Promise<ImageSource> {
  const transportOptions = { ...options.transportOptions, ...(options.storeRoot ? { storeRoot: options.storeRoot } : {}) };
  const pull = options.pull ?? 'missing';
  let ref = parseImageReference(options.image, 'berth');
  if (ref.transport.name !== 'berth') return ref.newSource(transportOptions);
  const fromStore = async (): Promise<ImageSource | undefined> => {
    if (pull === 'always') return undefined;
    try {
      return await ref.newSource(transportOptions);
    } catch (err) {
      if (!isBerthError(err, 'NOT_FOUND')) throw err;
      return undefined;
    }
  };
  const stored = await fromStore();
  if (stored) return stored;
  const name = options.image.replace(/^berth:/, '');
  if (!isFullyQualified(name)) {
    // A short name is not pulled from a guessed registry: registries.conf names it (an alias or the one
    // search registry), as podman does; it may already be in the store under that name.
    const { resolveShortName } = await import('../registries-conf/pullSources.js');
    const { loadRegistriesConf } = await import('../registries-conf/registriesConf.js');
    const registriesConf = transportOptions.registry?.registriesConf;
    ref = parseImageReference(`berth:${resolveShortName(name, loadRegistriesConf(registriesConf))}`);
    const resolved = await fromStore();
    if (resolved) return resolved;
  }
  if (pull === 'never') throw new BerthError('NOT_FOUND', `${options.image} is not in the local store, and --pull=never forbids pulling it`);
  const remote = parseImageReference(`docker://${ref.dockerReference}`);
  options.onProgress?.(`pulling ${remote.toString()}`);
  const [{ copyImage }, { policyAdmission }] = await Promise.all([import('../copy/copyImage.js'), import('../sign/policy/admission.js')]);
  const admit = policyAdmission(transportOptions.registry ? { registry: transportOptions.registry } : {});
  await copyImage(remote, ref, { sourceOptions: transportOptions, destinationOptions: transportOptions, ...(admit ? { admit } : {}) });
  return ref.newSource(transportOptions);
}

function readEnvFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new BerthError('NOT_FOUND', `--env-file ${file}: cannot read it`);
  }
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

/** KEY=VALUE sets; a bare KEY takes the value from this process's environment (and is skipped when unset). */
function mergeEnv(base: string[], extra: string[]): string[] {
  const out = new Map(base.map((e) => [e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')), e]));
  for (const e of extra) {
    const eq = e.indexOf('=');
    if (eq === 0) throw new BerthError('USAGE', `invalid environment variable "${e}"`);
    if (eq < 0) {
      const v = process.env[e];
      if (v !== undefined) out.set(e, `${e}=${v}`);
    } else out.set(e.slice(0, eq), e);
  }
  return [...out.values()];
}

function normalizeCap(c: string): string {
  const name = c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`;
  if (name !== 'CAP_ALL' && capabilityNumbers[name] === undefined) throw new BerthError('USAGE', `unknown capability "${c}"`);
  return name;
}

async function applyOptions(spec: Spec, config: ImageConfig, rootfs: string, o: RunImageOptions, id: string): Promise<void> {
  const proc = spec.process!;
  const c = config.config ?? {};
  const entrypoint = o.entrypoint !== undefined ? (o.entrypoint === '' ? [] : [o.entrypoint]) : (c.Entrypoint ?? []);
  if (o.command?.length || o.entrypoint !== undefined) {
    const args = [...entrypoint, ...(o.command?.length ? o.command : o.entrypoint !== undefined ? [] : (c.Cmd ?? []))];
    if (args.length === 0) throw new BerthError('USAGE', 'no command: the image has none and none was given');
    proc.args = args;
  }
  proc.terminal = o.tty === true;
  const extra = [...(o.envFiles ?? []).flatMap(readEnvFile), ...(o.env ?? [])];
  proc.env = mergeEnv(proc.env ?? [], extra);
  if (o.user !== undefined) {
    const [{ resolveUser }, { RootResolver }] = await Promise.all([import('../bundle/userLookup.js'), import('../layer/rootResolver.js')]);
    const u = resolveUser(new RootResolver(rootfs), o.user);
    proc.user = { uid: u.uid, gid: u.gid, ...(u.additionalGids.length ? { additionalGids: u.additionalGids } : {}) };
  }
  if (o.workdir) {
    if (!o.workdir.startsWith('/')) throw new BerthError('USAGE', `--workdir must be absolute, got "${o.workdir}"`);
    proc.cwd = o.workdir;
  }
  if (o.capAdd?.length || o.capDrop?.length) {
    const caps = proc.capabilities ?? {};
    const all = Object.keys(capabilityNumbers);
    for (const set of ['bounding', 'effective', 'permitted'] as const) {
      let list = new Set(caps[set] ?? []);
      for (const add of (o.capAdd ?? []).map(normalizeCap)) (add === 'CAP_ALL' ? all : [add]).forEach((a) => list.add(a));
      for (const drop of (o.capDrop ?? []).map(normalizeCap)) list = drop === 'CAP_ALL' ? new Set() : (list.delete(drop), list);
      caps[set] = [...list];
    }
    caps.ambient = (caps.ambient ?? []).filter((a) => caps.permitted!.includes(a));
    proc.capabilities = caps;
  }
  spec.hostname = o.hostname ?? id.slice(0, 12);
  spec.root = { path: 'rootfs', readonly: o.readOnly === true };
  const linux = (spec.linux ??= {});
  if (o.network === 'host') linux.namespaces = (linux.namespaces ?? []).filter((n) => n.type !== 'network');
  if (o.network === 'host') spec.mounts = (spec.mounts ?? []).map((m) => (m.destination === '/sys' ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] } : m));
  for (const v of o.volumes ?? []) {
    const parts = v.split(':');
    if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]?.startsWith('/')) throw new BerthError('USAGE', `-v must be SRC:DST[:ro|rw] with DST absolute, got "${v}"`);
    const mode = parts[2] ?? 'rw';
    if (mode !== 'ro' && mode !== 'rw') throw new BerthError('USAGE', `-v ${v}: mode must be ro or rw`);
    const source = resolve(parts[0]);
    if (!existsSync(source)) throw new BerthError('NOT_FOUND', `-v ${v}: ${source} does not exist`);
    (spec.mounts ??= []).push({ destination: parts[1], type: 'bind', source, options: ['rbind', mode] });
  }
  const resources = (linux.resources ??= {});
  if (o.memory !== undefined) resources.memory = { limit: o.memory, swap: o.memory };
  if (o.cpus !== undefined) resources.cpu = { quota: Math.round(o.cpus * 100000), period: 100000 };
  if (o.pidsLimit !== undefined) resources.pids = { limit: o.pidsLimit };
  linux.cgroupsPath = `/berth/${id}`;
}

/** `berth run`: image → bundle (unpackImage) → runtime; the container's exit status in the foreground. */
export async function runImage(o: RunImageOptions): Promise<RunImageResult> {
  // runc and crun refuse --console-socket in the foreground: they hold the pty themselves, on the caller's terminal.
  if (o.tty && o.runtime && !o.detach && !isatty(0)) throw new BerthError('NOT_IMPLEMENTED', `-t with --runtime ${o.runtime}: the runtime holds the pseudo-terminal itself and needs stdin to be a terminal`);
  const records = new ContainerRecords(o.storeRoot);
  const id = randomBytes(16).toString('hex');
  const name = o.name ?? `berth_${id.slice(0, 12)}`;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new BerthError('USAGE', `invalid container name "${name}"`);
  const source = await openImage(o);
  // berth-runc as root mounts an overlay of a cached unpack inside the container; other runtimes get a full copy.
  const useOverlay = !o.runtime && process.getuid?.() === 0;
  let rootfsOverlay: RootfsOverlay | undefined;
  let spec: Spec;
  try {
    const { manifest, digest } = await selectImageManifest(source, hostPlatform());
    const config = await readImageConfig(source, manifest);
    const record: ContainerRecord = { id, name, image: o.image, command: [], created: new Date().toISOString(), ...(o.runtime ? { runtime: o.runtime } : {}), autoRemove: o.rm === true, ...(config.config?.StopSignal ? { stopSignal: config.config.StopSignal } : {}) };
    records.save(record);
    try {
      const bundle = records.bundleDir(id);
      const warn = (m: string) => o.onProgress?.(`warning: ${m}`);
      let lowerRootfs: string;
      if (useOverlay) {
        const cached = await new RootfsCache(o.storeRoot).acquireImage(source, digest, id, { onWarning: warn });
        lowerRootfs = join(cached, 'rootfs');
        spec = JSON.parse(readFileSync(join(cached, 'config.json'), 'utf8')) as Spec;
        const upper = join(records.containerDir(id), 'upper');
        const work = join(records.containerDir(id), 'work');
        for (const d of [join(bundle, 'rootfs'), upper, work]) mkdirSync(d, { recursive: true, mode: 0o755 });
        rootfsOverlay = { lower: lowerRootfs, upper, work };
      } else {
        // Without root: no chown, container root mapped to the caller in a user namespace (unpackImage --rootless).
        const { unpackImage } = await import('../bundle/unpackImage.js');
        await unpackImage(source, bundle, { onWarning: warn, rootless: process.getuid?.() !== 0 });
        lowerRootfs = join(bundle, 'rootfs');
        spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as Spec;
      }
      await applyOptions(spec, config, lowerRootfs, o, id);
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
      record.command = spec.process!.args;
      records.update(record);
    } catch (err) {
      records.remove(id);
      throw err;
    }
  } finally {
    await source.close();
  }
  const runtime = new RuntimeClient(records.runtimeRoot, o.runtime);
  const bundle = records.bundleDir(id);
  const start: StartContainer = (how) =>
    runInRootfs({ spec, rootfs: rootfsOverlay ?? join(bundle, 'rootfs'), stateRoot: records.runtimeRoot, id, bundle, ...(o.runtime ? { runtime: o.runtime } : {}), ...how });
  let status: number;
  try {
    status = o.tty ? await runWithTerminal(runtime, start, records, id, o) : await runWithStdio(start, records, id, o);
  } catch (err) {
    records.remove(id);
    throw err;
  }
  if (!o.detach && o.rm) records.remove(id);
  else if (!o.detach) writeFileSync(records.statusFile(id), `${status}\n`);
  return { id, name, status };
}

/** Start the prepared container with these run options (the spec, rootfs, state and runtime are fixed). */
type StartContainer = (how: Pick<RunInRootfsOptions, 'detach' | 'keep' | 'stdio' | 'consoleSocket' | 'statusFile'>) => Promise<number>;

async function runWithStdio(start: StartContainer, records: ContainerRecords, id: string, o: RunImageOptions): Promise<number> {
  let logFd: number | undefined;
  const stdio: (number | 'ignore' | 'inherit')[] = o.detach
    ? ['ignore', (logFd = openSync(records.logFile(id), 'a')), logFd]
    : [o.interactive ? 0 : 'ignore', 1, 2];
  try {
    return await start({ detach: o.detach === true, keep: !o.rm, stdio, ...(o.detach ? { statusFile: records.statusFile(id) } : {}) });
  } finally {
    if (logFd !== undefined) closeSync(logFd);
  }
}

/**
 * -t. The runtime sends the pty master over a console socket to berth-console-relay, which copies it to
 * and from our stdio (or, detached, into the container's log and lives on until the pty closes); a relay
 * that fails (bad message, a second connection) stops the container. In the foreground another runtime
 * holds the pty itself on our terminal: runc and crun refuse a console socket without --detach, and a
 * detached runtime could not report the exit status.
 */
async function runWithTerminal(runtime: RuntimeClient, start: StartContainer, records: ContainerRecords, id: string, o: RunImageOptions): Promise<number> {
  if (o.detach) {
    const logFd = openSync(records.logFile(id), 'a');
    try {
      const relay = await startConsoleRelay({ readStdin: false, detachedOutput: logFd });
      try {
        await start({ detach: true, keep: true, stdio: ['ignore', logFd, logFd], consoleSocket: relay.socketPath });
      } catch (err) {
        await relay.close();
        throw err;
      }
      relay.leave();
      return 0;
    } finally {
      closeSync(logFd);
    }
  }
  if (runtime.executable) return start({ detach: false, keep: !o.rm, stdio: [o.interactive ? 0 : 'ignore', 1, 2] });
  const relay = await startConsoleRelay({ readStdin: o.interactive === true });
  let relayFailure: RelayExit | undefined;
  try {
    const container = start({ detach: false, keep: !o.rm, stdio: ['ignore', 1, 2], consoleSocket: relay.socketPath });
    const first = await Promise.race([container.then(() => undefined, () => undefined), relay.finished]);
    if (first && first.status !== 0) {
      relayFailure = first;
      await runtime.kill(id, 'KILL').catch(() => {});
    }
    const status = await container;
    // The pty closes when the container's last process exits; what it wrote is still being copied out.
    const exit = await relay.close(relayGraceMs);
    if (!relayFailure && exit.status !== 0 && exit.status !== 143) relayFailure = exit;
    if (relayFailure) {
      // The record goes (runImage's catch); so does the runtime's state a kept container would leave.
      await runtime.delete(id, true).catch(() => {});
      throw new BerthError('RUNTIME_ERROR', relayFailure.message || `berth-console-relay exited with status ${relayFailure.status}`);
    }
    return status;
  } finally {
    await relay.close();
  }
}

const relayGraceMs = 5_000;
