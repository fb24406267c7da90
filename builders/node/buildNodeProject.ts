import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { copyToTags, type DestinationHooks } from '../../src/copy/copyToTags.js';
import { BerthError } from '../../src/errors/BerthError.js';
import { indexOfImages } from '../../src/image/imageIndex.js';
import { mutateImage } from '../../src/image/mutateImage.js';
import { configPlatform, readImageConfig, requireImagePlatform, selectImageManifest } from '../../src/image/selectImage.js';
import { createLayerFromDirectory, type EntryMetadata } from '../../src/layer/directoryLayer.js';
import { layerFromTar, type NewLayer } from '../../src/layer/newLayer.js';
import type { TarEntryType } from '../../src/layer/tarReader.js';
import type { ImageConfig } from '../../src/oci/config.js';
import type { Digest } from '../../src/oci/digest.js';
import { parseManifest } from '../../src/oci/manifest.js';
import { formatPlatform, hostPlatform, type Platform } from '../../src/oci/platform.js';
import { openImage, type PullPolicy } from '../../src/run/runImage.js';
import { whyNotRunnable } from '../../src/run/runnablePlatform.js';
import { enterBuild } from '../../src/store/buildCacheUse.js';
import { DependencyLayerCache } from '../../src/store/dependencyLayerCache.js';
import { RootfsCache } from '../../src/store/rootfsCache.js';
import { storeRoot } from '../../src/store/storeRoot.js';
import '../../src/transports/allTransports.js';
import type { ImageReference, ImageSource, TransportOptions } from '../../src/transports/types.js';
import { configuredRegistry, reifyProductionTree } from './dependencyTree.js';
import { gitRevision } from './gitRevision.js';
import { defaultNodeBase, nodeContainerConfig, type PackageJson } from './imageConfig.js';
import { runInstallScripts } from './installScripts.js';
import { checkLockfileInSync, findWorkspace, hasPlatformPackages, hasProductionPackages, localDependencies, localPackages, packageNameOf, packagesWithInstallScripts, readLockfile, type LocalPackage, type Lockfile } from './lockfile.js';
import { applicationFiles } from './projectFiles.js';

export interface NodeBuildOptions {
  /** The project directory (package.json and its lockfile). */
  project: string;
  tags: string[];
  /** The base image (any berth reference, or a name for the local store / its registry); default from engines.node. */
  base?: string;
  /** When a base named in the local store is pulled (--pull; default missing). */
  pull?: PullPolicy;
  /** Build this workspace (by name or directory) with the local packages it needs, as `npm -w` installs it. */
  workspace?: string;
  /** Platforms to build (several give an index); 'all' takes every platform of the base. Default: this host's. */
  platforms?: Platform[] | 'all';
  /** Install devDependencies too (`--include dev`). */
  includeDev?: boolean;
  /** Do not run the packages' install scripts. */
  ignoreScripts?: boolean;
  entrypoint?: string[];
  /** Where the application goes in the image (jib's appRoot; default /app). */
  appRoot?: string;
  env?: string[];
  labels?: Record<string, string>;
  ports?: string[];
  user?: string;
  /** Paths of the project left out of the application layer (a path or a directory; `*` within a segment). */
  exclude?: string[];
  /** Pinned time of every layer entry and of the image (SOURCE_DATE_EPOCH); default 1970-01-01T00:00:01Z. */
  timestamp?: Date;
  storeRoot?: string;
  transportOptions?: TransportOptions;
  /** What a copy to each -t does besides copying (signing it there: src/cli/buildOutputFlags.ts's signingHooksFrom). */
  hooksFor?: (destination: ImageReference) => DestinationHooks;
  onProgress?: (line: string) => void;
}

export interface NodeBuildResult {
  /** The image's config digest, or for several platforms the index's digest. */
  imageId: Digest;
  /** Whether every dependency layer came from the cache (no arborist, no registry). */
  dependenciesCached: boolean;
  destinations: { reference: string; manifestDigest: Digest }[];
}

const DEFAULT_TIME = new Date('1970-01-01T00:00:01Z');

/** npm's names for the CPUs OCI names differently (the `cpu` field of package.json, arborist's `cpu` option). */
const NODE_CPU: Record<string, string> = { amd64: 'x64', '386': 'ia32', ppc64le: 'ppc64' };

function readPackageJson(path: string): PackageJson & Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PackageJson & Record<string, unknown>;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new BerthError(missing ? 'NOT_FOUND' : 'CONFIG_INVALID', `build-node: ${path}: ${missing ? 'no such file' : 'not valid JSON'}`);
  }
}

/**
 * Layer entries as npm leaves them under umask 022, whatever the build host's umask and owners: root-owned,
 * directories 0755, files 0755 when executable (and npm's bins always), else 0644.
 */
function npmModes(executable: Set<string> = new Set()) {
  return (path: string, type: TarEntryType, onDisk: EntryMetadata): EntryMetadata => {
    const mode = type === 'directory' || executable.has(path) || (type === 'file' && onDisk.mode & 0o111) ? 0o755 : type === 'symlink' ? 0o777 : 0o644;
    return { mode, uid: 0, gid: 0 };
  };
}

/**
 * Build an image from a Node project without a Dockerfile, jib's way: the base's layers, then the third-party
 * dependencies (reified by arborist from the lockfile, install scripts run inside the base, cached by lockfile,
 * base and options), then the project's own packages (workspaces, `file:` directories), then the application's own
 * files, all with fixed owners, modes and times so that the same project gives the same digest anywhere. Several
 * platforms give an index whose instances share every layer the platform does not change.
 */
export async function buildNodeProject(options: NodeBuildOptions): Promise<NodeBuildResult> {
  const project = resolve(options.project);
  const onProgress = options.onProgress ?? (() => undefined);
  const rootPkg = readPackageJson(join(project, 'package.json'));
  const { bytes: lockBytes, lock } = readLockfile(project);
  checkLockfileInSync(rootPkg, lock);
  const local = localPackages(lock);
  const includeDev = options.includeDev === true;
  const workspace = options.workspace === undefined ? undefined : findWorkspace(local, options.workspace);
  const pkg = workspace ? readPackageJson(join(project, workspace.dir, 'package.json')) : rootPkg;
  const neededLocal = workspace ? localDependencies(lock, workspace.dir, local, includeDev) : local;
  const scripted = options.ignoreScripts ? [] : packagesWithInstallScripts(lock, includeDev);
  const scriptedLocal = scripted.filter((path) => local.some((p) => p.dir === path));
  if (scriptedLocal.length > 0) {
    throw new BerthError('NOT_IMPLEMENTED', `build-node: ${scriptedLocal.join(', ')} ha${scriptedLocal.length === 1 ? 's' : 've'} install scripts of the project's own; berth runs those of dependencies only; --ignore-scripts builds without running them`);
  }
  const appRoot = (options.appRoot ?? '/app').replace(/^\/+|\/+$/g, '');
  if (appRoot === '' || appRoot.split('/').some((part) => part === '..' || part === '.')) throw new BerthError('USAGE', `build-node: --app-root must be an absolute directory other than /, got "${options.appRoot}"`);
  const mtime = options.timestamp ?? DEFAULT_TIME;
  const created = mtime.toISOString();
  const transportOptions = { ...options.transportOptions, ...(options.storeRoot ? { storeRoot: options.storeRoot } : {}) };
  const baseName = options.base ?? defaultNodeBase(rootPkg);
  if (!options.base) onProgress(`base: ${baseName} (from engines.node ${rootPkg.engines?.node})`);

  const root = join(storeRoot(options.storeRoot), 'build-cache');
  mkdirSync(root, { recursive: true });
  const cache = new DependencyLayerCache(root, join(root, 'blobs'));
  const leave = enterBuild(root);
  const base = await openImage({ image: baseName, transportOptions, ...(options.storeRoot ? { storeRoot: options.storeRoot } : {}), onProgress, ...(options.pull ? { pull: options.pull } : {}) });
  try {
    const platforms = Array.isArray(options.platforms) ? uniquePlatforms(options.platforms) : await basePlatforms(base, options.platforms === 'all');
    const dependencies = new DependencyLayers({ project, lock, lockBytes, cache, root, appRoot, includeDev, scripted, localDirs: local.map((p) => p.dir), onProgress, storeRoot: options.storeRoot, ...(workspace ? { workspace } : {}), key: `${includeDev}\0${created}\0${appRoot}\0${workspace?.dir ?? ''}\0${options.ignoreScripts === true}`, mtime });
    const ownLayers = await projectLayers(project, { pkg, workspace, neededLocal, allLocal: local, appRoot, exclude: options.exclude ?? [], mtime, blobDir: cache.blobDir });
    const images: ImageSource[] = [];
    for (const platform of platforms) {
      const { manifest, digest: baseDigest } = await selectImageManifest(base, platform);
      const baseConfig = await readImageConfig(base, manifest);
      requireImagePlatform(baseConfig, platform, `build-node: the base ${baseName}`);
      const dependencyLayer = hasProductionPackages(lock, includeDev) || neededLocal.length > 0 ? await dependencies.layerFor(platform, base, baseDigest, baseConfig) : undefined;
      const appDir = workspace ? `/${appRoot}/${workspace.dir}` : `/${appRoot}`;
      images.push(
        await mutateImage(base, {
          layers: [...(dependencyLayer ? [dependencyLayer] : []), ...ownLayers],
          platform,
          created,
          config: (c) => ({ ...c, config: nodeContainerConfig(baseConfig.config ?? {}, pkg, { appRoot: appDir, ...(options.entrypoint ? { entrypoint: options.entrypoint } : {}), env: options.env ?? [], labels: { ...revisionLabel(project), ...options.labels }, ports: options.ports ?? [], ...(options.user !== undefined ? { user: options.user } : {}) }) }),
        }),
      );
    }
    const image = images.length === 1 ? images[0]! : await indexOfImages(images);
    const top = parseManifest((await image.getManifest()).bytes);
    const imageId = top.kind === 'index' ? top.digest : top.manifest.config.digest;
    const destinations = await copyToTags(image, options.tags, { all: true, sourceOptions: transportOptions, destinationOptions: transportOptions, ...(options.hooksFor ? { hooksFor: options.hooksFor } : {}) });
    return { imageId, dependenciesCached: dependencies.allCached, destinations };
  } finally {
    leave();
    await base.close();
  }
}

/** The platforms asked for, each once. */
function uniquePlatforms(platforms: Platform[]): Platform[] {
  const seen = new Set<string>();
  return platforms.filter((p) => !seen.has(formatPlatform(p)) && seen.add(formatPlatform(p)));
}

/**
 * The platforms a base offers a build: a single-platform base its own (a base is never relabelled); an index every
 * platform it names with `all`, else this host's.
 */
async function basePlatforms(base: ImageSource, all: boolean): Promise<Platform[]> {
  const top = parseManifest((await base.getManifest()).bytes);
  if (top.kind === 'manifest') return [configPlatform(await readImageConfig(base, top.manifest))];
  if (!all) return [hostPlatform()];
  return top.index.manifests.flatMap((m) => (m.platform && m.platform.os !== 'unknown' ? [m.platform] : []));
}

/** org.opencontainers.image.revision: the commit the project is checked out at, when it is a git repository. */
function revisionLabel(project: string): Record<string, string> {
  const revision = gitRevision(project);
  return revision ? { 'org.opencontainers.image.revision': revision } : {};
}

interface DependencyLayerInputs {
  project: string;
  lock: Lockfile;
  lockBytes: Buffer;
  cache: DependencyLayerCache;
  /** The build cache's directory (scratch space beside the cache, on its filesystem). */
  root: string;
  appRoot: string;
  includeDev: boolean;
  /** Lockfile paths of the packages whose install scripts run (none with --ignore-scripts). */
  scripted: string[];
  localDirs: string[];
  workspace?: LocalPackage;
  /** The options that change the layer's bytes, as text for its cache key. */
  key: string;
  mtime: Date;
  storeRoot: string | undefined;
  onProgress: (line: string) => void;
}

/**
 * The node_modules layer (every node_modules of the tree, the links to the project's own packages included), one
 * per distinct key: the lockfile and options always; the platform only when some package is for some platforms
 * only; the base only when install scripts run in it. So two platforms of a plain project share one layer.
 */
class DependencyLayers {
  allCached = true;
  private readonly perPlatform: boolean;

  constructor(private readonly inputs: DependencyLayerInputs) {
    this.perPlatform = hasPlatformPackages(inputs.lock);
  }

  async layerFor(platform: Platform, base: ImageSource, baseDigest: Digest, baseConfig: ImageConfig): Promise<NewLayer> {
    const { inputs } = this;
    const runsScripts = inputs.scripted.length > 0;
    const lockDigest = createHash('sha256').update(inputs.lockBytes).digest('hex');
    const key = createHash('sha256')
      .update(`${lockDigest}\0${inputs.key}\0${this.perPlatform ? formatPlatform(platform) : ''}\0${runsScripts ? baseDigest : ''}`)
      .digest('hex');
    const history = { created_by: `berth build-node: dependencies (lockfile sha256:${lockDigest.slice(0, 12)})` };
    const hit = await inputs.cache.get(key, history);
    if (hit) {
      inputs.onProgress(`dependencies: cached${this.perPlatform ? ` for ${formatPlatform(platform)}` : ''}`);
      return hit;
    }
    this.allCached = false;
    inputs.onProgress(`dependencies: installing from the lockfile${this.perPlatform ? ` for ${formatPlatform(platform)}` : ''}`);
    const scratch = mkdtempSync(join(inputs.root, '.tmp-node-'));
    try {
      const registry = configuredRegistry(inputs.project);
      const staging = await reifyProductionTree(inputs.project, scratch, {
        includeDev: inputs.includeDev,
        localDirs: inputs.localDirs,
        ...(inputs.workspace ? { workspace: inputs.workspace.name } : {}),
        ...(registry ? { registry } : {}),
        ...(this.perPlatform ? { os: platform.os, cpu: NODE_CPU[platform.architecture] ?? platform.architecture } : {}),
      });
      const cannotRun = runsScripts ? whyNotRunnable(platform) : undefined;
      if (cannotRun) {
        checkPrebuilt(staging, inputs.scripted, platform, cannotRun);
        inputs.onProgress(`dependencies: install scripts not run for ${formatPlatform(platform)}: the packages ship prebuilt binaries for it`);
      } else if (runsScripts) {
        const baseRootfs = join(await new RootfsCache(inputs.storeRoot).acquireImage(base, baseDigest, `build-${process.pid}`, { platform }), 'rootfs');
        await runInstallScripts({ staging, appRoot: `/${inputs.appRoot}`, lock: inputs.lock, packages: inputs.scripted, baseRootfs, baseConfig: baseConfig.config ?? {}, scratch, onProgress: inputs.onProgress });
      }
      const inTree = (rel: string) => rel === 'node_modules' || rel.startsWith('node_modules/') || inputs.localDirs.some((d) => rel === `${d}/node_modules` || rel.startsWith(`${d}/node_modules/`));
      const prefix = `${inputs.appRoot}/`;
      const tar = createLayerFromDirectory(staging, {
        prefix: inputs.appRoot,
        include: (p) => inTree(p.slice(prefix.length)),
        exclude: (p) => p === `${prefix}node_modules/.package-lock.json`,
        metadata: npmModes(),
        mtime: inputs.mtime,
      });
      const layer = await layerFromTar(tar, { blobDir: inputs.cache.blobDir, history });
      inputs.cache.put(key, layer);
      return layer;
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
}

/**
 * For a platform this host cannot run, install scripts cannot run either: that is fine only when every package with
 * one ships prebuilt binaries for the platform (prebuildify's `prebuilds/OS-CPU/`, which node-gyp-build loads
 * instead of compiling); otherwise one line names the packages.
 */
function checkPrebuilt(staging: string, scripted: string[], platform: Platform, cannotRun: string): void {
  const tag = `${platform.os}-${NODE_CPU[platform.architecture] ?? platform.architecture}`;
  const unbuilt = scripted.filter((path) => existsSync(join(staging, path, 'package.json')) && !existsSync(join(staging, path, 'prebuilds', tag)));
  if (unbuilt.length === 0) return;
  const names = unbuilt.map((p) => packageNameOf(p)).join(', ');
  throw new BerthError('UNSUPPORTED', `build-node: ${names} ha${unbuilt.length === 1 ? 's' : 've'} install scripts and no prebuilt binaries for ${formatPlatform(platform)} (prebuilds/${tag}), and this host cannot run them: ${cannotRun}; --ignore-scripts builds without running them`);
}

interface ProjectLayerInputs {
  pkg: PackageJson & Record<string, unknown>;
  workspace: LocalPackage | undefined;
  /** The project's own packages the image holds besides the application. */
  neededLocal: LocalPackage[];
  allLocal: LocalPackage[];
  appRoot: string;
  exclude: string[];
  mtime: Date;
  blobDir: string;
}

/**
 * The project's own layers, the same for every platform: its local packages (when it has any), then the
 * application — the project's files, or with --workspace the workspace's files and the root's package.json and
 * lockfile — chosen as `npm pack` chooses them.
 */
async function projectLayers(project: string, inputs: ProjectLayerInputs): Promise<NewLayer[]> {
  const { appRoot, mtime } = inputs;
  const layers: NewLayer[] = [];
  const chosenOf = async (pkgs: LocalPackage[], exclude: string[] = []) => {
    const chosen = new Set<string>();
    const executable = new Set<string>();
    for (const p of pkgs) {
      const own = readPackageJson(join(project, p.dir, 'package.json'));
      for (const file of await applicationFiles(join(project, p.dir), own, exclude)) chosen.add(`${p.dir}/${file}`);
      for (const bin of p.bins) executable.add(`${appRoot}/${p.dir}/${bin}`);
    }
    return { chosen, executable };
  };
  const layerOf = async (chosen: Set<string>, executable: Set<string>, createdBy: string) => {
    const tar = createLayerFromDirectory(project, {
      prefix: appRoot,
      include: (p) => chosen.has(p.slice(appRoot.length + 1)),
      // Never walked: a project's node_modules and history can be larger than everything else together.
      exclude: (p) => /\/(node_modules|\.git)$/.test(p),
      metadata: npmModes(executable),
      mtime,
    });
    return layerFromTar(tar, { blobDir: inputs.blobDir, history: { created_by: createdBy } });
  };
  if (inputs.neededLocal.length > 0) {
    const { chosen, executable } = await chosenOf(inputs.neededLocal);
    layers.push(await layerOf(chosen, executable, `berth build-node: local packages ${inputs.neededLocal.map((p) => p.name).join(', ')}`));
  }
  const title = `berth build-node: ${inputs.pkg.name ?? 'application'} ${inputs.pkg.version ?? ''}`.trim();
  if (inputs.workspace) {
    const { chosen, executable } = await chosenOf([inputs.workspace], inputs.exclude);
    for (const name of ['package.json', 'package-lock.json', 'npm-shrinkwrap.json']) if (existsSync(join(project, name))) chosen.add(name);
    layers.push(await layerOf(chosen, executable, title));
  } else {
    const localDirs = inputs.allLocal.map((p) => p.dir);
    const chosen = await applicationFiles(project, inputs.pkg, [...inputs.exclude, ...localDirs]);
    const bins = typeof inputs.pkg.bin === 'string' ? [inputs.pkg.bin] : Object.values(inputs.pkg.bin ?? {});
    layers.push(await layerOf(chosen, new Set(bins.map((b) => `${appRoot}/${b.replace(/^\.\//, '')}`)), title));
  }
  return layers;
}
