import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { chmodSync, chownSync, closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../../src/errors/BerthError.js';
import { mutateImage } from '../../../src/image/mutateImage.js';
import type { Platform } from '../../../src/oci/platform.js';
import { readImageConfig, selectImageManifest } from '../../../src/image/selectImage.js';
import { layerFromTar, type NewLayer } from '../../../src/layer/newLayer.js';
import { overlayUpperLayer } from '../../../src/layer/overlayLayer.js';
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../../../src/oci/config.js';
import { runInRootfs, type RootfsMount } from '../../../src/run/runInRootfs.js';
import { openImage, type PullPolicy } from '../../../src/run/runImage.js';
import { RootfsCache } from '../../../src/store/rootfsCache.js';
import { StepCache } from '../../../src/store/stepCache.js';
import type { ImageSource, TransportOptions } from '../../../src/transports/types.js';
import type { ContextMatcher } from '../context/dockerignore.js';
import type { BuildPlan, CopyStep, MountFrom, RunMount, RunStep, StagePlan, Step, WorkdirStep } from '../plan.js';
import { addsArchive, copyEntries, copyFromRoot, copyIntoStage, digestCopyInputs, type CopyTarget } from './copyStep.js';
import { writeTar } from '../../../src/layer/tarWriter.js';
import { createLayerFromDirectory } from '../../../src/layer/directoryLayer.js';
import { resolveStageUser } from './stageUser.js';
import { RootResolver } from '../../../src/layer/rootResolver.js';
import { StageTree } from './stageTree.js';
import { applyLayerInPlace, clearRoot, copyTree } from './inPlace/inPlaceRoot.js';
import { runInPlace } from './inPlace/runInPlace.js';
import { networkFileMounts, runStepSpec } from '../../../src/run/runStepSpec.js';
import { checkRunnable } from './foreignPlatform.js';
import { downloadSource, type DownloadedSource } from './urlSource.js';
import { checkoutGitSource, resolveGitSource, type ResolvedGitSource } from './gitSource.js';
import { KeptPaths } from '../../../src/layer/keptPaths.js';
import { TreeSnapshot } from '../../../src/layer/rootSnapshot.js';
import { applyImageLayers } from '../../../src/bundle/unpackImage.js';
import { applyLayer } from '../../../src/layer/applyLayer.js';
import type { RegistryStepCache } from './registryStepCache.js';
import { startSshAgentProxy, type SshAgentProxy } from './sshAgentProxy.js';

export interface ExecuteOptions {
  plan: BuildPlan;
  contextDir: string;
  ignore: ContextMatcher;
  /** The build's own scratch space and the step cache; on one filesystem, so finished steps are renamed into the cache. */
  cache: StepCache;
  /** Look the step cache up (`--no-cache`: false; steps are still stored for the next build). */
  useCache: boolean;
  /** Entries older than this are misses (--cache-ttl). */
  cacheTtlMs?: number;
  /** The cache shared by CI runners in a registry (--cache-repo): looked up after the local one, given every new step. */
  remoteCache?: RegistryStepCache;
  storeRoot?: string;
  transportOptions?: TransportOptions;
  /** RUN --mount=type=secret sources: id → file contents. */
  secrets: Map<string, Buffer>;
  /** RUN --mount=type=ssh agents: id → the agent's socket (--ssh). */
  sshAgents: Map<string, string>;
  /** The pull policy for an image a stage reads (--pull; 'always' once per build). */
  pullFor?: (reference: string) => PullPolicy;
  /** The network a RUN gets by default (buildah chroot and kaniko: the build's own). */
  defaultNetwork: 'host' | 'none';
  /** Pinned times for reproducible builds (SOURCE_DATE_EPOCH / --timestamp). */
  timestamp?: Date;
  /** Progress lines (`STEP 2/5: RUN …`); RUN output goes to stdout/stderr as it comes. */
  onProgress: (line: string) => void;
  /** Where RUN steps write (fds); default the build's own stdout and stderr. */
  output?: [number, number];
  /** Aborted when the build is interrupted: a running RUN is killed, nothing more runs. */
  signal?: AbortSignal;
  /**
   * Where steps run. container: each RUN in a berth-runc container over the stage's overlay layers. in-place
   * (kaniko mode, `--isolation none`): the stage's files are this root itself ("/" of the build's own container),
   * RUN runs directly in it, and a snapshot of the root gives each RUN's layer; the kept paths are never touched.
   */
  isolation: { kind: 'container' } | InPlaceIsolation;
}

/**
 * A build as it runs: its options, and the ADD URLs and git repositories fetched so far (saved under downloadDir,
 * removed with the build).
 */
type Run = ExecuteOptions & {
  downloads: Map<string, Promise<DownloadedSource>>;
  gitRefs: Map<string, Promise<ResolvedGitSource>>;
  gitCheckouts: Map<string, Promise<string>>;
  downloadDir: string;
};

export interface InPlaceIsolation {
  kind: 'in-place';
  root: string;
  keep: KeptPaths;
  /** `--isolation chroot`: RUN is chrooted into `root` by this helper (in place in "/", it runs directly). */
  chroot?: string;
}

export interface BuiltStage {
  image: ImageSource;
  tree: StageTree;
  config: ImageConfig;
}

interface StageState {
  tree: StageTree;
  /** Cache key of everything so far: base digest, then each step. */
  chain: string;
  layers: NewLayer[];
  /** History of this stage's steps in instruction order (layers' entries included). */
  history: HistoryEntry[];
  config: ContainerConfig;
  author?: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Run a compiled plan: each stage's steps on a stack of overlay layers, each stage an image made by mutateImage. */
export async function executePlan(options: ExecuteOptions): Promise<BuiltStage[]> {
  const built: BuiltStage[] = [];
  const run: Run = { ...options, downloads: new Map(), gitRefs: new Map(), gitCheckouts: new Map(), downloadDir: options.cache.scratch() };
  const saved: string[] = [run.downloadDir];
  try {
    return await executeStages(run, built, saved);
  } finally {
    for (const dir of saved) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Build the plan's stages. Each stage waits only for the stages it reads (its base, COPY --from, RUN --mount from),
 * so independent stages build at once, each line of their progress prefixed with the stage's name. When one fails,
 * the others are stopped (a running RUN is killed) and its error is the build's. In place there is one root, so
 * stages build one after another.
 */
async function executeStages(options: Run, built: BuiltStage[], saved: string[]): Promise<BuiltStage[]> {
  const stages = options.plan.stages;
  const total = stages.reduce((n, s) => n + s.steps.length + 1, 0);
  const firstStep = stages.map((_, i) => stages.slice(0, i).reduce((n, s) => n + s.steps.length + 1, 0));
  if (inPlaceOf(options)) {
    for (const [index, stage] of stages.entries()) await buildStage(index, stage, { total, first: firstStep[index]! }, options, built, saved);
    return built;
  }
  const stop = new AbortController();
  const interrupted = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', interrupted, { once: true });
  let failure: { error: unknown } | undefined;
  const finished: Promise<void>[] = [];
  for (const [index, stage] of stages.entries()) {
    const label = stages.length > 1 ? `[${stage.name ?? stage.dockerfileIndex}] ` : '';
    const stageOptions: Run = { ...options, signal: stop.signal, onProgress: (line) => options.onProgress(`${label}${line}`) };
    finished[index] = Promise.all(stageDependencies(stage).map((d) => finished[d]!))
      .then(() => buildStage(index, stage, { total, first: firstStep[index]! }, stageOptions, built, saved))
      .catch((error: unknown) => {
        failure ??= { error };
        stop.abort(error);
        throw error;
      });
  }
  try {
    await Promise.allSettled(finished);
  } finally {
    options.signal?.removeEventListener('abort', interrupted);
  }
  if (failure) throw options.signal?.aborted ? interruptedError(options.signal) : failure.error;
  return built;
}

async function buildStage(index: number, stage: StagePlan, steps: { total: number; first: number }, options: Run, built: BuiltStage[], saved: string[]): Promise<void> {
  throwIfInterrupted(options);
  let step = steps.first + 1;
  options.onProgress(`STEP ${step}/${steps.total}: FROM ${describeBase(stage, options.plan)}`);
  let started = performance.now();
  const state = await startStage(stage, built, options);
  options.onProgress(`--> base ready in ${seconds(started)}`);
  for (const s of stage.steps) {
    throwIfInterrupted(options);
    step++;
    options.onProgress(`STEP ${step}/${steps.total}: ${describeStep(s)}`);
    started = performance.now();
    const cached = await executeStep(s, state, stage, built, options);
    if (!cached && s.kind !== 'config') options.onProgress(`--> done in ${seconds(started)}`);
  }
  built[index] = await finishStage(stage, state, options);
  const inPlace = inPlaceOf(options);
  // In place, the next stage replaces the root: a stage that a later one reads from is saved first, as kaniko does.
  if (inPlace && usedLater(options.plan, index)) {
    const dir = options.cache.scratch();
    saved.push(dir);
    await copyTree(inPlace.root, dir, { skip: inPlace.keep });
    built[index] = { ...built[index]!, tree: new StageTree([dir]) };
  }
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(2)} s`;

function inPlaceOf(options: Run): InPlaceIsolation | undefined {
  return options.isolation.kind === 'in-place' ? options.isolation : undefined;
}

/** The stages a stage reads: the one it builds on, and those it copies from or mounts. */
function stageDependencies(stage: StagePlan): number[] {
  const from = (f: MountFrom | undefined) => (f?.kind === 'stage' ? [f.stage] : []);
  const read = [
    ...(stage.base.kind === 'stage' ? [stage.base.stage] : []),
    ...stage.steps.flatMap((step) => (step.kind === 'copy' ? from(step.from) : step.kind === 'run' ? step.mounts.flatMap((m) => ('from' in m ? from(m.from) : [])) : [])),
  ];
  return [...new Set(read)];
}

/** A later stage builds on this one, copies from it or mounts it. */
function usedLater(plan: BuildPlan, index: number): boolean {
  return plan.stages.some((stage) => stageDependencies(stage).includes(index));
}

/** The instruction as a user reads it in progress, from buildah's history text. */
function describeStep(step: Step): string {
  if (step.kind === 'run') return `RUN ${step.createdBy.replace(/^(\|\d+ .*?)?\/bin\/sh -c /, '')}`;
  return step.createdBy.replace(/^\/bin\/sh -c #\(nop\) /, '').trimEnd();
}

function throwIfInterrupted(options: Run): void {
  if (options.signal?.aborted) throw interruptedError(options.signal);
}

function interruptedError(signal: AbortSignal): BerthError {
  return new BerthError('BUILD_FAILED', `build interrupted (${String(signal.reason)}); nothing was written`);
}

function describeBase(stage: StagePlan, plan: BuildPlan): string {
  if (stage.base.kind === 'scratch') return 'scratch';
  if (stage.base.kind === 'image') return stage.base.reference;
  const parent = plan.stages[stage.base.stage]!;
  return parent.name ?? String(parent.dockerfileIndex);
}

async function startStage(stage: StagePlan, built: BuiltStage[], options: Run): Promise<StageState & { base?: ImageSource }> {
  const inPlace = inPlaceOf(options);
  if (inPlace) return startStageInPlace(stage, built, options, inPlace);
  const config: ContainerConfig = { ...(stage.baseConfig.config ?? {}) };
  if (stage.base.kind === 'stage') {
    const parent = built[stage.base.stage]!;
    return { base: parent.image, tree: parent.tree, chain: sha256(`stage\0${parent.config.rootfs.diff_ids.join(',')}\0${JSON.stringify(parent.config.config)}`), layers: [], history: [], config };
  }
  if (stage.base.kind === 'scratch') {
    const empty = join(options.cache.root, 'scratch-rootfs');
    mkdirSync(empty, { recursive: true });
    return { tree: new StageTree([empty]), chain: sha256(`scratch\0${stage.platform.os}/${stage.platform.architecture}`), layers: [], history: [], config };
  }
  const { source, digest, rootfs } = await unpackedImage(stage.base.reference, stage.platform, options);
  return { base: source, tree: new StageTree([rootfs]), chain: sha256(`image\0${digest}`), layers: [], history: [], config };
}

/** In place: the root is emptied (kept paths aside) and gets the base's files; the stage's tree is the root itself. */
async function startStageInPlace(stage: StagePlan, built: BuiltStage[], options: Run, inPlace: InPlaceIsolation): Promise<StageState & { base?: ImageSource }> {
  const config: ContainerConfig = { ...(stage.baseConfig.config ?? {}) };
  const tree = new StageTree([inPlace.root], inPlace.keep);
  clearRoot(inPlace.root, inPlace.keep);
  if (stage.base.kind === 'stage') {
    const parent = built[stage.base.stage]!;
    await copyTree(parent.tree.lowers[0]!, inPlace.root, { keep: inPlace.keep });
    return { base: parent.image, tree, chain: sha256(`stage\0${parent.config.rootfs.diff_ids.join(',')}\0${JSON.stringify(parent.config.config)}`), layers: [], history: [], config };
  }
  if (stage.base.kind === 'scratch') {
    return { tree, chain: sha256(`scratch\0${stage.platform.os}/${stage.platform.architecture}`), layers: [], history: [], config };
  }
  const source = await openImage({ image: stage.base.reference, ...(options.transportOptions ? { transportOptions: options.transportOptions } : {}), ...(options.storeRoot ? { storeRoot: options.storeRoot } : {}), onProgress: options.onProgress, ...(options.pullFor ? { pull: options.pullFor(stage.base.reference) } : {}) });
  const digest = await applyImageLayers(source, inPlace.root, { platform: stage.platform, keep: inPlace.keep, onWarning: (m) => options.onProgress(`warning: ${m}`) });
  return { base: source, tree, chain: sha256(`image\0${digest}`), layers: [], history: [], config };
}

/** Run one step, or take it from a cache; true when it was a cache hit. */
async function executeStep(step: Step, state: StageState, stage: StagePlan, built: BuiltStage[], options: Run): Promise<boolean> {
  const created = (options.timestamp ?? new Date()).toISOString();
  if (step.kind === 'config') {
    state.config = step.apply(state.config);
    if (step.author !== undefined) state.author = step.author;
    if (step.history) state.history.push({ created, created_by: step.createdBy, empty_layer: true });
    state.chain = sha256(`${state.chain}\0${step.cacheText}`);
    return false;
  }
  const history: HistoryEntry = { created, created_by: step.createdBy };
  let inputs = '';
  if (step.kind === 'copy') inputs = await digestCopyInputs(step, copyTarget(options, built, stage.platform));
  const key = sha256(`${state.chain}\0${step.cacheText}\0${inputs}\0${stage.platform.os}/${stage.platform.architecture}`);
  state.chain = key;
  const inPlace = inPlaceOf(options);
  let hit = options.useCache ? await options.cache.get(key, history, { needTree: !inPlace, ...(options.cacheTtlMs !== undefined ? { maxAgeMs: options.cacheTtlMs } : {}) }) : null;
  if (!hit && options.useCache && options.remoteCache) {
    const layer = await options.remoteCache.get(key, stage.platform, history);
    if (layer) hit = await keepFetchedStep(key, layer, options);
  }
  if (hit) {
    options.onProgress('--> Using cache');
    if (inPlace) await applyLayerInPlace(hit.layer, inPlace.root, inPlace.keep);
    else state.tree = state.tree.withTop(hit.tree!);
    state.layers.push(hit.layer);
    state.history.push(history);
    if (step.kind === 'workdir') state.config = { ...state.config, WorkingDir: step.path };
    return true;
  }
  const scratch = options.cache.scratch();
  try {
    const tree = join(scratch, 'tree');
    mkdirSync(tree, { mode: 0o755 });
    let layerTar;
    if (step.kind === 'run') {
      checkRunnable(stage.platform, step.line);
      layerTar = await runStep(step, state, tree, scratch, options, built, stage.platform);
    }
    else if (step.kind === 'copy') layerTar = await copyStep(step, state, tree, options, copyTarget(options, built, stage.platform));
    else layerTar = await workdirStep(step, state, tree);
    const layer = await layerFromTar(layerTar, { blobDir: options.cache.blobDir, history });
    rmSync(join(scratch, 'work'), { recursive: true, force: true });
    if (inPlace) {
      // A RUN in place changed the root itself and left no tree: its entry holds the layer alone.
      if (step.kind === 'run') rmSync(tree, { recursive: true });
      else await applyLayerInPlace(layer, inPlace.root, inPlace.keep);
      options.cache.put(key, scratch, layer);
    } else {
      state.tree = state.tree.withTop(options.cache.put(key, scratch, layer)!);
    }
    options.remoteCache?.put(key, layer, stage.platform, options.timestamp?.toISOString());
    state.layers.push(layer);
    state.history.push(history);
    if (step.kind === 'workdir') state.config = { ...state.config, WorkingDir: step.path };
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  return false;
}

/**
 * A step fetched from the shared cache, kept in the local one: in place its layer is all a build needs; a build on
 * overlays gets the layer back as a tree, whiteouts as overlayfs writes them.
 */
async function keepFetchedStep(key: string, layer: NewLayer, options: Run): Promise<{ tree?: string; layer: NewLayer }> {
  const scratch = options.cache.scratch();
  try {
    if (!inPlaceOf(options)) {
      mkdirSync(join(scratch, 'tree'), { mode: 0o755 });
      await applyLayer(join(scratch, 'tree'), await layer.open(), { devices: true, overlayWhiteouts: true });
    }
    const tree = options.cache.put(key, scratch, layer);
    return { ...(tree ? { tree } : {}), layer };
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
}

/** Mount points the runtime had to create in the upper (they did not exist below) are not the step's files. */
function createdMountPoints(root: string, targets: string[]): Set<string> {
  const created = new Set<string>();
  for (const target of targets) {
    const rel = target.replace(/^\/+/, '');
    if (!existsSync(join(root, rel))) created.add(rel);
  }
  return created;
}

async function runStep(step: RunStep, state: StageState, upper: string, scratch: string, options: Run, built: BuiltStage[], platform: Platform) {
  const work = join(scratch, 'work');
  mkdirSync(work);
  const network = step.network === 'default' ? options.defaultNetwork : step.network;
  const files = join(scratch, 'files');
  mkdirSync(files);
  const mounts: RootfsMount[] = [];
  const inPlace = inPlaceOf(options);
  if (inPlace && network === 'none') {
    throw new BerthError('UNSUPPORTED', `Dockerfile:${step.line}: RUN --network=none needs a network namespace, which a build ${inPlace.chroot ? 'in a chroot' : 'in place (--isolation none)'} cannot create; use --network=host or --isolation container`);
  }
  if (!inPlace || inPlace.chroot) {
    // In place, the container's own /etc/hosts and resolv.conf (a pod's) serve RUN as they are.
    mounts.push(...networkFileMounts(files, network));
  }
  for (const input of step.inputs) {
    const file = join(files, `input-${mounts.length}`);
    writeFileSync(file, input.content, { mode: input.mode });
    mounts.push({ destination: input.path, type: 'bind', source: file, options: ['rbind', 'ro'] });
  }
  const proxies: SshAgentProxy[] = [];
  try {
    for (const mount of step.mounts) mounts.push(...(await runMount(mount, options, built, files, platform, proxies)));
    if (inPlace) return await runStepInPlace(step, mounts, files, options, inPlace);
    return await runStepInContainer(step, state, mounts, { upper, work, files, scratch, network }, options);
  } finally {
    await Promise.all(proxies.map((p) => p.close()));
  }
}

/** A RUN step in a container of its own on the stage's overlay layers (`--isolation container`). */
async function runStepInContainer(step: RunStep, state: StageState, mounts: RootfsMount[], dirs: { upper: string; work: string; files: string; scratch: string; network: 'host' | 'none' }, options: Run) {
  const { upper, work, files, scratch, network } = dirs;
  const { user, exclude } = await state.tree.withMergedView(options.cache.root, async (root) => ({
    user: resolveStageUser(root, step.user),
    exclude: createdMountPoints(root, mounts.map((m) => m.destination)),
  }));
  let stdin: number | 'ignore' = 'ignore';
  if (step.stdin !== undefined) {
    const file = join(files, 'stdin');
    writeFileSync(file, step.stdin);
    stdin = openSync(file, 'r');
  }
  let status: number;
  try {
    status = await runInRootfs({
      rootfs: { lower: state.tree.lowers, upper, work },
      // As runc and buildah: the primary group is in the supplementary list too (`id` shows groups=GID).
      spec: runStepSpec({ args: step.args, env: [...step.env, ...mountEnvironment(step, options)], cwd: step.workdir, uid: user.uid, gid: user.gid, additionalGids: [...new Set([user.gid, ...user.additionalGids])] }, network, mounts),
      stdio: [stdin, ...(options.output ?? [1, 2])],
      stateRoot: scratch,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    if (typeof stdin === 'number') closeSync(stdin);
  }
  throwIfInterrupted(options);
  if (status !== 0) throw runFailed(step, status);
  // The runtime leaves mount points of files it bound (hosts, secrets) and of directories it mounted on: they are
  // neither in the layer nor, since the upper is the next steps' overlay layer, in what later steps see.
  removeMountPoints(upper, exclude);
  const excluded = (path: string) => exclude.has(path) || [...exclude].some((e) => path.startsWith(`${e}/`));
  return overlayUpperLayer(upper, { exclude: excluded, ...timestampOptions(options) });
}

/**
 * The mount points the runtime made in an upper directory (empty files and directories). The directories it made
 * to hold them stay, as buildah leaves them.
 */
function removeMountPoints(upper: string, created: Set<string>): void {
  for (const rel of created) {
    try {
      if (lstatSync(join(upper, rel)).isDirectory()) rmdirSync(join(upper, rel));
      else rmSync(join(upper, rel));
    } catch {
      // Not in the upper: the runtime made it elsewhere, or the mount left nothing behind.
    }
  }
}

async function runStepInPlace(step: RunStep, mounts: RootfsMount[], files: string, options: Run, inPlace: InPlaceIsolation) {
  const user = resolveStageUser(inPlace.root, step.user);
  const before = await TreeSnapshot.take(inPlace.root, { skip: (rel) => inPlace.keep.isKept(rel) });
  let stdin: number | 'ignore' = 'ignore';
  if (step.stdin !== undefined) {
    const file = join(files, 'stdin');
    writeFileSync(file, step.stdin);
    stdin = openSync(file, 'r');
  }
  let result;
  try {
    result = await runInPlace({
      root: inPlace.root,
      keep: inPlace.keep,
      ...(inPlace.chroot ? { chroot: inPlace.chroot } : {}),
      process: { args: step.args, env: [...step.env, ...mountEnvironment(step, options)], cwd: step.workdir, uid: user.uid, gid: user.gid, additionalGids: [...new Set([user.gid, ...user.additionalGids])] },
      mounts,
      stdio: [stdin, ...(options.output ?? [1, 2])],
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    if (typeof stdin === 'number') closeSync(stdin);
  }
  throwIfInterrupted(options);
  if (result.status !== 0) throw runFailed(step, result.status);
  const targets = new KeptPaths(result.targets);
  const skip = (rel: string) => targets.isKept(rel);
  try {
    return (await before.changes({ skip, xattrs: true, ...timestampOptions(options) })).tar;
  } catch (err) {
    if (!(err instanceof BerthError) || err.code !== 'UNSUPPORTED') throw err;
    // No getfattr in this image: the changes are still seen (ctime), their attributes' values cannot be read.
    options.onProgress(`warning: ${err.message}; the layer of this RUN carries no extended attributes`);
    return (await before.changes({ skip, ...timestampOptions(options) })).tar;
  }
}

function runFailed(step: RunStep, status: number): BerthError {
  return new BerthError('BUILD_FAILED', `Dockerfile:${step.line}: RUN ${step.createdBy.replace(/^(\|\d+ \S+ )?\/bin\/sh -c /, '')}: exit status ${status}`);
}

/**
 * What a step's mounts add to its environment: RUN --mount=type=secret,env=VAR (the secret, never in the history or
 * the cache key's text) and, as BuildKit sets it, SSH_AUTH_SOCK naming the first ssh mount that has an agent.
 */
function mountEnvironment(step: RunStep, options: Run): string[] {
  const secrets = step.mounts.flatMap((m) => (m.type === 'secret' && m.env && options.secrets.has(m.id) ? [`${m.env}=${options.secrets.get(m.id)!.toString('utf8')}`] : []));
  const ssh = step.mounts.find((m) => m.type === 'ssh' && options.sshAgents.has(m.id));
  return [...secrets, ...(ssh ? [`SSH_AUTH_SOCK=${ssh.target}`] : [])];
}

async function runMount(mount: RunMount, options: Run, built: BuiltStage[], files: string, platform: Platform, proxies: SshAgentProxy[]): Promise<RootfsMount[]> {
  switch (mount.type) {
    case 'tmpfs':
      return [{ destination: mount.target, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', ...(mount.size ? [`size=${mount.size}`] : [])] }];
    case 'cache': {
      // Kept between builds under the cache, by id; never part of a layer (it is a mount, not the rootfs).
      const dir = join(options.cache.root, 'mounts', sha256(mount.id));
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: mount.mode ?? 0o755 });
      return [{ destination: mount.target, type: 'bind', source: dir, options: ['rbind', mount.readonly ? 'ro' : 'rw'] }];
    }
    case 'secret': {
      const value = options.secrets.get(mount.id);
      if (value === undefined) {
        if (mount.required) throw new BerthError('USAGE', `RUN --mount=type=secret,id=${mount.id}: no --secret id=${mount.id} was given`);
        return [];
      }
      // env= alone: the value reaches the process's environment only (secretEnvironment), no file.
      if (mount.target === '') return [];
      const file = join(files, `secret-${sha256(mount.id)}`);
      writeFileSync(file, value, { mode: mount.mode });
      return [{ destination: mount.target, type: 'bind', source: file, options: ['rbind', 'ro'] }];
    }
    case 'bind': {
      const from = mount.from ?? { kind: 'context' as const };
      let root: string | undefined;
      let source: string;
      if (from.kind === 'stage') {
        source = await stageDirectoryCopy(built[from.stage]!, mount.source, files, options);
      } else {
        root = from.kind === 'context' ? options.contextDir : await imageRoot(from.reference, platform, options);
        source = bindSource(root, mount.source);
      }
      if (mount.readwrite && root !== undefined) {
        // rw: the step may write, and what it writes is thrown away with its scratch; the source is never touched.
        const copy = join(files, `bind-${sha256(`${mount.target}\0${mount.source}`)}`);
        await copyFromRoot(root, source.slice(root.length), copy);
        source = copy;
      }
      return [{ destination: mount.target, type: 'bind', source, options: ['rbind', mount.readwrite ? 'rw' : 'ro'] }];
    }
    case 'ssh': {
      const agent = options.sshAgents.get(mount.id);
      if (agent === undefined) {
        if (mount.required) throw new BerthError('USAGE', `RUN --mount=type=ssh,id=${mount.id}: no --ssh ${mount.id} was given`);
        return [];
      }
      // A unix socket's path must stay under 108 bytes; the build's own directory may be deeper than that.
      let socket = join(files, `ssh-${proxies.length}.sock`);
      const shortDir = Buffer.byteLength(socket) < 100 ? undefined : mkdtempSync(join(tmpdir(), 'berth-ssh-'));
      if (shortDir) socket = join(shortDir, 'agent.sock');
      const proxy = await startSshAgentProxy(agent, socket, mount);
      proxies.push(shortDir ? { path: proxy.path, close: () => proxy.close().finally(() => rmSync(shortDir, { recursive: true, force: true })) } : proxy);
      return [{ destination: mount.target, type: 'bind', source: proxy.path, options: ['rbind', 'rw'] }];
    }
  }
}

/**
 * A bind mount's source inside a root (the context, an image's files), its symlinks followed inside that root: a
 * link in the context must not bind the host's files into a step.
 */
function bindSource(root: string, path: string): string {
  const resolver = new RootResolver(root);
  const rel = resolver.resolveFollow(path.split('/').map((part) => Buffer.from(part, 'utf8').toString('latin1')));
  if (rel === undefined) throw new BerthError('NOT_FOUND', `RUN --mount=type=bind: ${path} does not exist in its source`);
  return Buffer.from(resolver.abs(rel), 'latin1').toString('utf8');
}

/** A stage's files are a stack of layers; a bind mount needs one directory, so the path is copied out once. */
async function stageDirectoryCopy(stage: BuiltStage, path: string, files: string, options: Run): Promise<string> {
  const target = join(files, `from-${sha256(path)}`);
  await stage.tree.withMergedView(options.cache.root, async (root) => copyFromRoot(root, path, target));
  return target;
}

function copyTarget(options: Run, built: BuiltStage[], platform: Platform): CopyTarget {
  return {
    contextDir: options.contextDir, ignore: options.ignore, scratchRoot: options.cache.root, stages: built,
    imageRoot: (reference) => imageRoot(reference, platform, options),
    download: (url) => {
      let got = options.downloads.get(url);
      if (!got) options.downloads.set(url, (got = downloadSource(url, options.downloadDir)));
      return got;
    },
    gitResolve: (source) => {
      let got = options.gitRefs.get(source);
      if (!got) options.gitRefs.set(source, (got = resolveGitSource(source)));
      return got;
    },
    gitCheckout: (resolved, keepGitDir) => {
      const key = `${resolved.remote}\0${resolved.commit}\0${resolved.subdir}\0${keepGitDir}`;
      let got = options.gitCheckouts.get(key);
      if (!got) options.gitCheckouts.set(key, (got = checkoutGitSource(resolved, options.downloadDir, keepGitDir)));
      return got;
    },
  };
}

/**
 * An image a stage builds on or copies from, pulled into the local store when missing and unpacked once per digest
 * into the rootfs cache shared with `berth run` (this build recorded as a user while it runs). The source stays
 * open for the caller.
 */
async function unpackedImage(reference: string, platform: Platform, options: Run): Promise<{ source: ImageSource; digest: string; rootfs: string }> {
  const source = await openImage({ image: reference, ...(options.transportOptions ? { transportOptions: options.transportOptions } : {}), ...(options.storeRoot ? { storeRoot: options.storeRoot } : {}), onProgress: options.onProgress, ...(options.pullFor ? { pull: options.pullFor(reference) } : {}) });
  const { digest } = await selectImageManifest(source, platform);
  const bundle = await new RootfsCache(options.storeRoot).acquireImage(source, digest, `build-${process.pid}`, { platform, onWarning: (m) => options.onProgress(`warning: ${m}`) });
  return { source, digest, rootfs: join(bundle, 'rootfs') };
}

/** The files of an image a step reads from (COPY --from=IMAGE). */
async function imageRoot(reference: string, platform: Platform, options: Run): Promise<string> {
  const { source, rootfs } = await unpackedImage(reference, platform, options);
  await source.close();
  return rootfs;
}

async function copyStep(step: CopyStep, state: StageState, tree: string, options: Run, target: CopyTarget) {
  const inPlace = inPlaceOf(options);
  if (inPlace && !(await addsArchive(step, target))) {
    // In place the layer is all there is to make: it is written from the sources and applied to the root once.
    rmSync(tree, { recursive: true });
    return writeTar(await copyEntries(step, inPlace.root, target), timestampOptions(options));
  }
  return state.tree.withMergedView(options.cache.root, async (root) => {
    await copyIntoStage(step, root, tree, target);
    return createLayerFromDirectory(tree, timestampOptions(options));
  });
}

async function workdirStep(step: WorkdirStep, state: StageState, tree: string) {
  const rel = step.path.replace(/^\/+/, '');
  await state.tree.withMergedView(join(tree, '..'), async (root) => {
    if (rel === '' || existsSync(join(root, rel))) return;
    const owner = resolveStageUser(root, step.user);
    let made = '';
    for (const part of rel.split('/')) {
      made = made ? `${made}/${part}` : part;
      const below = join(root, made);
      const here = join(tree, made);
      if (existsSync(below)) {
        const st = lstatSync(below);
        mkdirSync(here);
        chownSync(here, st.uid, st.gid);
        chmodSync(here, st.mode & 0o7777);
      } else {
        mkdirSync(here);
        chownSync(here, owner.uid, owner.gid);
        chmodSync(here, 0o755);
      }
    }
  });
  return createLayerFromDirectory(tree);
}

function timestampOptions(options: Run): { clampMtime?: Date } {
  return options.timestamp ? { clampMtime: options.timestamp } : {};
}

async function finishStage(stage: StagePlan, state: StageState & { base?: ImageSource }, options: Run): Promise<BuiltStage> {
  const created = options.timestamp?.toISOString();
  const finalConfig = state.config;
  const image = await mutateImage(state.base, {
    layers: state.layers,
    platform: stage.platform,
    ...(created ? { created } : {}),
    config: (c) => {
      const baseHistory = (c.history ?? []).slice(0, (c.history ?? []).length - state.layers.length);
      return {
        ...c,
        ...(state.author !== undefined ? { author: state.author } : {}),
        config: finalConfig,
        history: [...baseHistory, ...state.history],
      };
    },
  });
  const { manifest } = await selectImageManifest(image, stage.platform);
  return { image, tree: state.tree, config: await readImageConfig(image, manifest) };
}
