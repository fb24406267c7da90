import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { copyFromSource } from '../../src/copy/copyImage.js';
import { BerthError } from '../../src/errors/BerthError.js';
import { mutateImage } from '../../src/image/mutateImage.js';
import { readImageConfig, selectImageManifest } from '../../src/image/selectImage.js';
import { createLayerFromDirectory } from '../../src/layer/directoryLayer.js';
import { layerFromTar, type NewLayer } from '../../src/layer/newLayer.js';
import type { Digest } from '../../src/oci/digest.js';
import { hostPlatform } from '../../src/oci/platform.js';
import { openImage } from '../../src/run/runImage.js';
import { DependencyLayerCache } from '../../src/store/dependencyLayerCache.js';
import { enterBuild } from '../../src/store/buildCacheUse.js';
import { storeRoot } from '../../src/store/storeRoot.js';
import '../../src/transports/allTransports.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import type { TransportOptions } from '../../src/transports/types.js';
import { checkLockfileInSync, configuredRegistry, hasProductionPackages, packagesWithInstallScripts, readLockfile, reifyProductionTree } from './dependencyTree.js';
import { defaultNodeBase, nodeContainerConfig, type PackageJson } from './imageConfig.js';
import { applicationFiles } from './projectFiles.js';
import { gitRevision } from './gitRevision.js';

/** org.opencontainers.image.revision: the commit the project is checked out at, when it is a git repository. */
function revisionLabel(project: string): Record<string, string> {
  const revision = gitRevision(project);
  return revision ? { 'org.opencontainers.image.revision': revision } : {};
}

export interface NodeBuildOptions {
  /** The project directory (package.json and its lockfile). */
  project: string;
  tags: string[];
  /** The base image (any berth reference, or a name for the local store / its registry); default from engines.node. */
  base?: string;
  /** Install devDependencies too (`--include dev`). */
  includeDev?: boolean;
  /** Build although packages have install scripts, without running them. */
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
  onProgress?: (line: string) => void;
}

export interface NodeBuildResult {
  imageId: Digest;
  /** Whether the dependency layer came from the cache (no arborist, no registry). */
  dependenciesCached: boolean;
  destinations: { reference: string; manifestDigest: Digest }[];
}

const DEFAULT_TIME = new Date('1970-01-01T00:00:01Z');

/**
 * Build an image from a Node project without a Dockerfile, jib's way: the base's layers, then the production
 * dependencies (reified by arborist from the lockfile, cached by lockfile, base and options), then the application's
 * own files, all with fixed owners and times so that the same project gives the same digest anywhere.
 */
export async function buildNodeProject(options: NodeBuildOptions): Promise<NodeBuildResult> {
  const project = resolve(options.project);
  const onProgress = options.onProgress ?? (() => undefined);
  let pkg: PackageJson & Record<string, unknown>;
  try {
    pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as PackageJson & Record<string, unknown>;
  } catch (err) {
    throw new BerthError((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'CONFIG_INVALID', `build-node: ${join(project, 'package.json')}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not valid JSON'}`);
  }
  const { bytes: lockBytes, lock } = readLockfile(project);
  checkLockfileInSync(pkg, lock);
  const includeDev = options.includeDev === true;
  const scripted = packagesWithInstallScripts(lock, includeDev);
  if (scripted.length > 0 && !options.ignoreScripts) {
    throw new BerthError('NOT_IMPLEMENTED', `build-node: ${scripted.join(', ')} ha${scripted.length === 1 ? 's' : 've'} install scripts, which berth does not run yet; --ignore-scripts builds without running them`);
  }
  const mtime = options.timestamp ?? DEFAULT_TIME;
  const transportOptions = { ...options.transportOptions, ...(options.storeRoot ? { storeRoot: options.storeRoot } : {}) };
  const platform = hostPlatform();
  const baseName = options.base ?? defaultNodeBase(pkg);
  if (!options.base) onProgress(`base: ${baseName} (from engines.node ${pkg.engines?.node})`);
  let leave: (() => void) | undefined;
  const base = await openImage({ image: baseName, transportOptions, ...(options.storeRoot ? { storeRoot: options.storeRoot } : {}), onProgress });
  try {
    const { manifest, digest: baseDigest } = await selectImageManifest(base, platform);
    const baseConfig = await readImageConfig(base, manifest);
    const root = join(storeRoot(options.storeRoot), 'build-cache');
    const cache = new DependencyLayerCache(root, join(root, 'blobs'));
    leave = enterBuild(root);
    const created = mtime.toISOString();
    const appRoot = (options.appRoot ?? '/app').replace(/^\/+|\/+$/g, '');
    if (appRoot === '' || appRoot.split('/').some((part) => part === '..' || part === '.')) throw new BerthError('USAGE', `build-node: --app-root must be an absolute directory other than /, got "${options.appRoot}"`);
    const layers: NewLayer[] = [];
    let dependenciesCached = false;
    if (hasProductionPackages(lock, includeDev)) {
      const key = createHash('sha256').update(lockBytes).update(`\0${baseDigest}\0${platform.os}/${platform.architecture}\0${includeDev}\0${created}\0${appRoot}`).digest('hex');
      const history = { created_by: `berth build-node: dependencies of ${pkg.name ?? 'the project'} (lockfile sha256:${createHash('sha256').update(lockBytes).digest('hex').slice(0, 12)})` };
      const hit = await cache.get(key, history);
      if (hit) {
        onProgress('dependencies: cached');
        layers.push(hit);
        dependenciesCached = true;
      } else {
        onProgress('dependencies: installing from the lockfile');
        mkdirSync(root, { recursive: true });
        const scratch = mkdtempSync(join(root, '.tmp-node-'));
        try {
          const staging = await reifyProductionTree(project, scratch, { includeDev, ...(configuredRegistry(project) ? { registry: configuredRegistry(project)! } : {}) });
          refuseOutsideLinks(join(staging, 'node_modules'));
          chmodSync(staging, 0o755);
          const tar = createLayerFromDirectory(staging, { prefix: appRoot, include: (p) => p === `${appRoot}/node_modules` || p.startsWith(`${appRoot}/node_modules/`), exclude: (p) => p === `${appRoot}/node_modules/.package-lock.json`, uid: 0, gid: 0, mtime });
          const layer = await layerFromTar(tar, { blobDir: cache.blobDir, history });
          cache.put(key, layer);
          layers.push(layer);
        } finally {
          rmSync(scratch, { recursive: true, force: true });
        }
      }
    }
    const chosen = await applicationFiles(project, pkg.files, options.exclude ?? []);
    const app = createLayerFromDirectory(project, {
      prefix: appRoot,
      include: (p) => chosen.has(p.slice(appRoot.length + 1)),
      exclude: (p) => p === `${appRoot}/node_modules` || p === `${appRoot}/.git`,
      uid: 0,
      gid: 0,
      mtime,
    });
    layers.push(await layerFromTar(app, { blobDir: cache.blobDir, history: { created_by: `berth build-node: ${pkg.name ?? 'application'} ${pkg.version ?? ''}`.trim() } }));
    const image = await mutateImage(base, {
      layers,
      platform,
      created,
      config: (c) => ({ ...c, config: nodeContainerConfig(baseConfig.config ?? {}, pkg, { appRoot: `/${appRoot}`, ...(options.entrypoint ? { entrypoint: options.entrypoint } : {}), env: options.env ?? [], labels: { ...revisionLabel(project), ...options.labels }, ports: options.ports ?? [], ...(options.user !== undefined ? { user: options.user } : {}) }) }),
    });
    const built = await selectImageManifest(image, platform);
    const destinations: NodeBuildResult['destinations'] = [];
    for (const tag of options.tags) {
      const result = await copyFromSource(image, parseImageReference(tag, 'berth'), { sourceOptions: transportOptions, destinationOptions: transportOptions });
      destinations.push({ reference: tag, manifestDigest: result.manifestDigest });
    }
    return { imageId: built.manifest.config.digest, dependenciesCached, destinations };
  } finally {
    leave?.();
    await base.close();
  }
}

/** `file:` directories and workspaces become links out of node_modules, which an image cannot follow. */
function refuseOutsideLinks(nodeModules: string): void {
  if (!existsSync(nodeModules)) return;
  for (const name of readdirSync(nodeModules)) {
    const entries = name.startsWith('@') ? readdirSync(join(nodeModules, name)).map((n) => `${name}/${n}`) : [name];
    for (const entry of entries) {
      if (lstatSync(join(nodeModules, entry)).isSymbolicLink() && !entry.startsWith('.bin')) {
        throw new BerthError('NOT_IMPLEMENTED', `build-node: ${entry} is a workspace or file: directory dependency, which berth does not build yet (tarball and registry dependencies are built)`);
      }
    }
  }
}
