import { mkdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { copyFromSource } from '../../src/copy/copyImage.js';
import { copyToTags, type DestinationHooks } from '../../src/copy/copyToTags.js';
import type { ImageReference } from '../../src/transports/types.js';
import { BerthError } from '../../src/errors/BerthError.js';
import { mutateImage } from '../../src/image/mutateImage.js';
import { readImageConfig, requireImagePlatform, selectImageManifest } from '../../src/image/selectImage.js';
import type { Digest } from '../../src/oci/digest.js';
import { hostPlatform, platformMatches, type Platform } from '../../src/oci/platform.js';
import { openImage, type PullPolicy } from '../../src/run/runImage.js';
import { StepCache } from '../../src/store/stepCache.js';
import { enterBuild } from '../../src/store/buildCacheUse.js';
import '../../src/transports/allTransports.js';
import { storeRoot } from '../../src/store/storeRoot.js';
import { parseImageReference } from '../../src/transports/transportRegistry.js';
import type { ImageSource, TransportOptions } from '../../src/transports/types.js';
import { compileDockerfile } from './compile/compileDockerfile.js';
import { loadDockerignore } from './context/dockerignore.js';
import { executePlan, type BuiltStage } from './execute/executePlan.js';
import { clearRoot, containerKeptPaths, copyTree } from './execute/inPlace/inPlaceRoot.js';
import { chooseIsolation, installRoot } from './isolation.js';
import { ChrootRoot } from './execute/inPlace/chrootRoot.js';
import { RegistryStepCache } from './execute/registryStepCache.js';


export interface BuildOptions {
  /** The build context directory. */
  context: string;
  /** The Dockerfile's path (default CONTEXT/Dockerfile), or its text (`-f -`). */
  dockerfile?: string;
  dockerfileText?: string;
  /** Where the image goes: berth references; a bare name goes to the local store. */
  tags: string[];
  target?: string;
  buildArgs?: Record<string, string>;
  /** Skip the step cache lookup (steps are still stored). */
  noCache?: boolean;
  /** Pinned time for every layer entry, history entry and the config (SOURCE_DATE_EPOCH, --timestamp). */
  timestamp?: Date;
  labels?: Record<string, string>;
  /** Manifest annotations (`--annotation`). */
  annotations?: Record<string, string>;
  /** Also write the image as an OCI or docker archive, or its files into a directory (`--output`). */
  output?: { type: 'oci' | 'docker' | 'local'; dest: string };
  /** When FROM and --from images named in the store are pulled (--pull; default missing). */
  pull?: PullPolicy;
  /** What a copy to each -t does besides copying (signing it there: src/cli/buildOutputFlags.ts's signingHooksFrom). */
  hooksFor?: (destination: ImageReference) => DestinationHooks;
  /** RUN --mount=type=secret contents by id. */
  secrets?: Map<string, Buffer>;
  /** RUN --mount=type=ssh agents by id: the socket of an ssh agent (`--ssh default=$SSH_AUTH_SOCK`). */
  sshAgents?: Map<string, string>;
  /** The network RUN gets without --network (default: the build's own, as buildah chroot and kaniko give). */
  network?: 'host' | 'none';
  storeRoot?: string;
  transportOptions?: TransportOptions;
  onProgress?: (line: string) => void;
  /**
   * container: each RUN in a container of its own (needs root with CAP_SYS_ADMIN). none: the build works in this
   * container's own root, replacing its files with each stage's (kaniko mode, for unprivileged CI pods). Default: the
   * first the environment allows.
   */
  isolation?: string;
  /** Allow isolation none where berth cannot tell it runs in a container. */
  force?: boolean;
  /** More paths a build in place keeps (kaniko's --ignore-path), besides mount points and berth's own. */
  ignorePaths?: string[];
  /** After a build in place, empty the root again (kaniko's --cleanup). */
  cleanup?: boolean;
  /** Options for the destinations when they differ from the pulls' (kaniko's --insecure against --insecure-pull). */
  pushTransportOptions?: TransportOptions;
  /** Cached steps older than this are not used (--cache-ttl). */
  cacheTtlMs?: number;
  /** A repository (`docker://HOST/REPO`) holding the build cache shared by CI runners (kaniko's --cache-repo). */
  cacheRepo?: string;
  /** The platform to build for (default this host's): a COPY-only build works for any; RUN needs the host to run it. */
  platform?: Platform;
  /** The manifest format written to the tags (buildah's --format): OCI (default) or Docker schema 2. */
  format?: 'oci' | 'docker';
}

export interface BuildResult {
  /** The image ID as docker and buildah print it: the config's digest. */
  imageId: Digest;
  /** The built image, for a caller that copies it on itself. */
  image: ImageSource;
  /** The built image's manifest digest (what every registry destination holds). */
  manifestDigest: Digest;
  destinations: { reference: string; manifestDigest: Digest }[];
}

/**
 * Build an image from a Dockerfile: compile it (every stage and word known before anything runs), run the stages the
 * target needs on overlay layers, and copy the result to every tag through the one copy pipeline. Nothing reaches a
 * destination unless every step succeeded.
 */
export async function buildDockerfile(options: BuildOptions): Promise<BuildResult> {
  const context = resolve(options.context);
  const dockerfilePath = options.dockerfile ? resolve(options.dockerfile) : join(context, 'Dockerfile');
  let text = options.dockerfileText;
  if (text === undefined) {
    try {
      text = await readFile(dockerfilePath, 'utf8');
    } catch {
      throw new BerthError('NOT_FOUND', `cannot read the Dockerfile ${dockerfilePath}`);
    }
  }
  const isolation = chooseIsolation(options.isolation, options.force === true);
  const platform: Platform = options.platform ?? hostPlatform();
  const transportOptions = { ...options.transportOptions, ...(options.storeRoot ? { storeRoot: options.storeRoot } : {}) };
  const onProgress = options.onProgress ?? (() => undefined);
  onProgress(`isolation: ${isolation.name} (${isolation.why})`);
  // --pull=always pulls each image once per build: after that the store holds what was just pulled.
  const pulled = new Set<string>();
  const pullFor = (reference: string): PullPolicy => {
    if (options.pull !== 'always') return options.pull ?? 'missing';
    if (pulled.has(reference)) return 'missing';
    pulled.add(reference);
    return 'always';
  };
  const plan = await compileDockerfile({
    text,
    file: options.dockerfileText === undefined ? basename(dockerfilePath) : 'Dockerfile',
    buildArgs: options.buildArgs ?? {},
    ...(options.target ? { target: options.target } : {}),
    platform,
    buildPlatform: hostPlatform(),
    resolveImageConfig: async (reference, wanted) => {
      const source = await openImage({ image: reference, transportOptions, ...(options.storeRoot ? { storeRoot: options.storeRoot } : {}), onProgress, pull: pullFor(reference) });
      try {
        const { manifest } = await selectImageManifest(source, wanted);
        const config = await readImageConfig(source, manifest);
        // A platform asked for (--platform, or a FROM --platform other than this host's) must be the image's.
        if (options.platform !== undefined || !platformMatches(hostPlatform(), wanted)) requireImagePlatform(config, wanted, reference);
        return config;
      } finally {
        await source.close();
      }
    },
  });
  if (plan.unusedBuildArgs?.length) onProgress(`warning: build-args [${plan.unusedBuildArgs.join(' ')}] were not consumed`);
  const root = storeRoot(options.storeRoot);
  const keep = isolation.name === 'none' ? containerKeptPaths([installRoot(), process.execPath, root, context, ...(options.ignorePaths ?? [])]) : undefined;
  const chroot = isolation.name === 'chroot' ? await ChrootRoot.create(join(root, 'build-cache'), onProgress) : undefined;
  // Ctrl-C or SIGTERM: the running RUN container is killed, its scratch removed, and the build fails before any
  // destination is written (the step cache only ever holds whole entries).
  const interrupted = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => interrupted.abort(signal);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const cache = new StepCache(join(root, 'build-cache'));
  const remoteCache = options.cacheRepo
    ? new RegistryStepCache({ repository: options.cacheRepo, transportOptions: options.pushTransportOptions ?? transportOptions, blobDir: cache.blobDir, ...(options.cacheTtlMs !== undefined ? { maxAgeMs: options.cacheTtlMs } : {}), onWarning: onProgress })
    : undefined;
  const leave = enterBuild(cache.root);
  try {
    const built = await executePlan({
      plan,
      contextDir: context,
      ignore: await loadDockerignore(context, options.dockerfileText === undefined ? dockerfilePath : undefined),
      cache,
      ...(remoteCache ? { remoteCache } : {}),
      useCache: options.noCache !== true,
      ...(options.cacheTtlMs !== undefined ? { cacheTtlMs: options.cacheTtlMs } : {}),
      ...(options.storeRoot ? { storeRoot: options.storeRoot } : {}),
      transportOptions,
      secrets: options.secrets ?? new Map(),
      sshAgents: options.sshAgents ?? new Map(),
      pullFor,
      defaultNetwork: options.network ?? 'host',
      ...(options.timestamp ? { timestamp: options.timestamp } : {}),
      onProgress,
      signal: interrupted.signal,
      isolation: keep ? { kind: 'in-place', root: '/', keep } : chroot ? { kind: 'in-place', root: chroot.root, keep: chroot.keep, chroot: chroot.helper } : { kind: 'container' },
    }).finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (keep && options.cleanup) clearRoot('/', keep);
    });
    // The target's files stay readable through the build's end (--output type=local), then the chroot goes.
    return await finishBuild(options, built[plan.target]!, { platform, transportOptions, root, ...(remoteCache ? { remoteCache } : {}) });
  } finally {
    chroot?.remove();
    leave();
  }
}

async function finishBuild(options: BuildOptions, target: BuiltStage, { platform, transportOptions, root, remoteCache }: { platform: Platform; transportOptions: TransportOptions; root: string; remoteCache?: RegistryStepCache }): Promise<BuildResult> {
  await remoteCache?.flush();
  let image = target.image;
  const labels = options.labels ?? {};
  const annotations = options.annotations ?? {};
  if (Object.keys(labels).length > 0 || Object.keys(annotations).length > 0) {
    image = await mutateImage(image, {
      ...(options.timestamp ? { created: options.timestamp.toISOString() } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      config: (c) => ({ ...c, config: { ...c.config, Labels: { ...c.config?.Labels, ...labels } } }),
    });
  }
  const { manifest, digest } = await selectImageManifest(image, platform);
  const destinations: BuildResult['destinations'] = [];
  const pushOptions = options.pushTransportOptions ? { ...options.pushTransportOptions, ...(options.storeRoot ? { storeRoot: options.storeRoot } : {}) } : transportOptions;
  destinations.push(...(await copyToTags(image, options.tags, { destinationOptions: pushOptions, ...(options.format ? { manifestFormat: options.format } : {}), ...(options.hooksFor ? { hooksFor: options.hooksFor } : {}) })));
  const output = options.output;
  if (output?.type === 'local') {
    // The target stage's files as they are, owners and modes included (read from the merged overlay view).
    await target.tree.withMergedView(join(root, 'build-cache'), async (rootfs) => {
      await mkdir(output.dest, { recursive: true });
      await copyTree(rootfs, resolve(output.dest), target.tree.kept ? { skip: target.tree.kept } : {});
    });
  } else if (output) {
    const reference = `${output.type === 'oci' ? 'oci-archive' : 'docker-archive'}:${resolve(output.dest)}`;
    const result = await copyFromSource(image, parseImageReference(reference), { destinationOptions: transportOptions });
    destinations.push({ reference, manifestDigest: result.manifestDigest });
  }
  return { imageId: manifest.config.digest, image, manifestDigest: digest, destinations };
}
