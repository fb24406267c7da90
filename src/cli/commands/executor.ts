import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import type { RegistryOptions } from '../../../registry/client/index.js';
import { hostPlatform } from '../../oci/platform.js';
import { storeRoot } from '../../store/storeRoot.js';
import { keyValues } from '../buildOutputFlags.js';
import { flagList, parseFlags, type Command, type FlagSpec } from '../command.js';
import { buildArgs, cacheTtlMs } from './build.js';

/** kaniko's executor flags that berth does what they ask (or what they ask is what berth always does). */
const STRING_FLAGS = [
  'context', 'dockerfile', 'destination', 'tar-path', 'digest-file', 'image-name-with-digest-file', 'image-name-tag-with-digest-file',
  'oci-layout-path', 'build-arg', 'target', 'label', 'insecure-registry', 'skip-tls-verify-registry', 'registry-mirror', 'cache-repo',
  'cache-dir', 'cache-ttl', 'snapshot-mode', 'ignore-path', 'custom-platform', 'push-retry', 'image-download-retry', 'verbosity',
  'log-format', 'kaniko-dir', 'compression', 'image-fs-extract-retry',
];
const BOOLEAN_FLAGS = [
  'no-push', 'cache', 'reproducible', 'insecure', 'insecure-pull', 'skip-tls-verify', 'skip-tls-verify-pull', 'cleanup', 'force',
  'ignore-var-run', 'skip-unused-stages', 'use-new-run', 'cache-copy-layers', 'cache-run-layers', 'compressed-caching',
  'log-timestamp', 'skip-push-permission-check', 'single-snapshot',
];
/** kaniko flags berth does not offer: each gets one line saying so, never silence. */
const NOT_SUPPORTED: Record<string, string> = {
  'single-snapshot': 'berth writes one layer per step; a single snapshot of the whole build is not supported',
  git: 'git contexts are not supported; clone first and pass the directory as --context',
  'registry-map': 'registry maps are not supported; use --registry-mirror or a registries.conf',
  'registry-certificate': 'per-registry certificates are not supported; put the CA in a certs.d directory (--cert-dir of berth build)',
  'registry-client-cert': 'per-registry client certificates are not supported; use berth build --cert-dir',
  'compression-level': 'the compression level is fixed (gzip, default level)',
  'push-ignore-immutable-tag-errors': 'not supported: a refused push fails the build',
};

const usage = `
Usage: berth [executor] --context DIR --destination IMAGE [KANIKO FLAGS]

Build like kaniko's executor, so a kaniko Job switches by changing its image: the build runs in place in this
container's own root (an unprivileged CI pod; refused elsewhere without --force) and pushes to every --destination.
Credentials come from $DOCKER_CONFIG/config.json, or /kaniko/.docker/config.json as kaniko reads them.

Flags (kaniko's names):
  -c, --context PATH        build context: a directory, dir://DIR, or a local tar://FILE or .tar/.tar.gz (default /workspace/)
  -f, --dockerfile PATH     the Dockerfile, relative to the context unless it exists as given (default Dockerfile)
  -d, --destination IMAGE   push here (repeatable)        --no-push  build only
      --tar-path FILE       also write a docker archive   --oci-layout-path DIR  also write an OCI layout
      --digest-file FILE, --image-name-with-digest-file FILE, --image-name-tag-with-digest-file FILE
      --build-arg K[=V], --target STAGE, --label K=V, --reproducible (times pinned to 1970)
      --cache, --cache-repo REPO, --cache-dir DIR, --cache-ttl DURATION   step cache (local, and shared in REPO)
      --insecure, --insecure-pull, --skip-tls-verify, --skip-tls-verify-pull, --insecure-registry REG,
      --skip-tls-verify-registry REG, --registry-mirror HOST, --push-retry N, --image-download-retry N
      --ignore-path PATH, --ignore-var-run (default true), --kaniko-dir DIR, --cleanup, --force
      --custom-platform OS/ARCH (this host's only), --snapshot-mode full|redo|time (berth's snapshot is always exact)
      --verbosity LEVEL (warn and above: quiet), --log-format text|color, --log-timestamp
`;

/** What a kaniko command line asks for, in berth's terms (no side effects: the docs' manifests are checked with it). */
export interface ExecutorPlan {
  context: { kind: 'dir'; path: string } | { kind: 'tar'; file: string };
  dockerfile: string;
  destinations: string[];
  push: boolean;
  tarPath?: string;
  ociLayoutPath?: string;
  digestFile?: string;
  nameWithDigestFile?: string;
  nameTagWithDigestFile?: string;
  buildArgs: Record<string, string>;
  target?: string;
  labels: Record<string, string>;
  timestamp?: Date;
  cache: boolean;
  cacheRepo?: string;
  cacheDir?: string;
  cacheTtlMs?: number;
  pullRegistry: RegistryOptions;
  pushRegistry: RegistryOptions;
  registriesConf?: string;
  ignorePaths: string[];
  cleanup: boolean;
  force: boolean;
  quiet: boolean;
}

/** kaniko's flags; those berth refuses are parsed too, so that the refusal can name them. */
const flagSpec: FlagSpec = {
  string: [...STRING_FLAGS, ...Object.keys(NOT_SUPPORTED).filter((name) => !BOOLEAN_FLAGS.includes(name))],
  boolean: BOOLEAN_FLAGS,
  alias: { c: 'context', f: 'dockerfile', d: 'destination' },
  default: { 'ignore-var-run': true },
};

export function parseExecutorFlags(argv: string[]): ExecutorPlan {
  const flags = parseFlags(argv, flagSpec, 'executor');
  for (const name of Object.keys(NOT_SUPPORTED)) {
    if (flags[name] !== undefined && flags[name] !== false) throw new BerthError('NOT_IMPLEMENTED', `executor: --${name}: ${NOT_SUPPORTED[name]}`);
  }
  if (flags._.length > 0) throw new BerthError('USAGE', `executor: unexpected argument "${String(flags._[0])}" (kaniko takes flags only)`);
  const last = (name: string): string | undefined => flagList(flags[name]).at(-1);
  const contextText = last('context') ?? '/workspace/';
  const scheme = /^([a-z0-9]+):\/\//.exec(contextText)?.[1];
  if (scheme !== undefined && scheme !== 'dir' && scheme !== 'tar') unsupportedContext(contextText);
  const path = contextText.replace(/^(dir|tar):\/\//, '');
  const context: ExecutorPlan['context'] = scheme === 'tar' || /\.(tar|tar\.gz|tgz)$/.test(path) ? { kind: 'tar', file: path } : { kind: 'dir', path };
  const destinations = flagList(flags.destination);
  const push = flags['no-push'] !== true;
  if (push && destinations.length === 0) throw new BerthError('USAGE', 'executor: give at least one --destination, or --no-push');
  for (const name of ['snapshot-mode', 'compression', 'log-format', 'custom-platform', 'verbosity'] as const) checkValue(name, last(name));
  const pull: RegistryOptions = {};
  const pushSide: RegistryOptions = {};
  if (flags['insecure-pull'] === true || flags['skip-tls-verify-pull'] === true) pull.tlsVerify = false;
  if (flags.insecure === true || flags['skip-tls-verify'] === true) pushSide.tlsVerify = false;
  const retries = (name: string): number | undefined => {
    const text = last(name);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0 || n > 100) throw new BerthError('USAGE', `executor: --${name} takes a whole number from 0 to 100`);
    return n;
  };
  const pushRetry = retries('push-retry');
  if (pushRetry !== undefined) pushSide.retryTimes = pushRetry;
  const pullRetry = retries('image-download-retry');
  if (pullRetry !== undefined) pull.retryTimes = pullRetry;
  const insecureRegistries = [...flagList(flags['insecure-registry']), ...flagList(flags['skip-tls-verify-registry'])];
  const mirrors = flagList(flags['registry-mirror']);
  const cacheTtl = last('cache-ttl');
  const cacheRepo = last('cache-repo');
  const cacheDir = last('cache-dir');
  const verbosity = last('verbosity');
  const ignorePaths = [...flagList(flags['ignore-path']), last('kaniko-dir') ?? '/kaniko', ...(flags['ignore-var-run'] !== false ? ['/var/run'] : [])];
  const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
  return {
    context,
    dockerfile: last('dockerfile') ?? 'Dockerfile',
    destinations,
    push,
    ...optional('tarPath', last('tar-path')),
    ...optional('ociLayoutPath', last('oci-layout-path')),
    ...optional('digestFile', last('digest-file')),
    ...optional('nameWithDigestFile', last('image-name-with-digest-file')),
    ...optional('nameTagWithDigestFile', last('image-name-tag-with-digest-file')),
    buildArgs: buildArgs(flagList(flags['build-arg']), undefined),
    ...optional('target', last('target')),
    labels: keyValues(flagList(flags.label), '--label', 'executor'),
    ...(flags.reproducible === true ? { timestamp: new Date(0) } : {}),
    cache: flags.cache === true,
    ...optional('cacheRepo', cacheRepo),
    ...optional('cacheDir', cacheDir),
    ...optional('cacheTtlMs', cacheTtl === undefined ? undefined : cacheTtlMs(cacheTtl)),
    pullRegistry: pull,
    pushRegistry: pushSide,
    ...optional('registriesConf', insecureRegistries.length > 0 || mirrors.length > 0 ? registriesConfText(insecureRegistries, mirrors, pull.tlsVerify === false) : undefined),
    ignorePaths,
    cleanup: flags.cleanup === true,
    force: flags.force === true,
    quiet: verbosity !== undefined && ['warn', 'error', 'fatal', 'panic'].includes(verbosity),
  };
}

function unsupportedContext(text: string): never {
  throw new BerthError('NOT_IMPLEMENTED', `executor: --context ${text}: only a directory, dir:// or a local tar file is supported (no git, s3, gs or https contexts); fetch it first`);
}

const ALLOWED: Record<string, (value: string) => boolean> = {
  'snapshot-mode': (v) => ['full', 'redo', 'time'].includes(v),
  compression: (v) => v === 'gzip',
  'log-format': (v) => v === 'text' || v === 'color',
  'custom-platform': (v) => {
    const host = hostPlatform();
    return v === `${host.os}/${host.architecture}` || v === `${host.os}/${host.architecture}${host.variant ? `/${host.variant}` : ''}`;
  },
  verbosity: (v) => ['panic', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(v),
};

function checkValue(name: string, value: string | undefined): void {
  if (value === undefined || ALLOWED[name]!(value)) return;
  const why: Record<string, string> = {
    'snapshot-mode': 'must be full, redo or time',
    compression: 'only gzip is supported',
    'log-format': 'text and color are supported (json is not)',
    'custom-platform': 'only this host\'s platform is supported (no emulation)',
    verbosity: 'must be panic, fatal, error, warn, info, debug or trace',
  };
  throw new BerthError(name === 'verbosity' || name === 'snapshot-mode' ? 'USAGE' : 'NOT_IMPLEMENTED', `executor: --${name} ${value}: ${why[name]}`);
}

/** --insecure-registry and --registry-mirror as a registries.conf: mirrors of docker.io tried first, as kaniko does. */
function registriesConfText(insecure: string[], mirrors: string[], insecurePull: boolean): string {
  const lines: string[] = [];
  for (const host of insecure) lines.push('[[registry]]', `location = ${JSON.stringify(host)}`, 'insecure = true', '');
  if (mirrors.length > 0) {
    lines.push('[[registry]]', 'prefix = "docker.io"', 'location = "docker.io"');
    for (const mirror of mirrors) lines.push('[[registry.mirror]]', `location = ${JSON.stringify(mirror)}`, `insecure = ${insecurePull || insecure.includes(mirror)}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** A kaniko destination is a registry reference (berth's docker:// spelling is taken too). */
function destinationReference(destination: string): string {
  return destination.startsWith('docker://') ? destination : `docker://${destination}`;
}

export const executorCommand: Command = {
  name: 'executor',
  flags: flagSpec,
  usage,
  async run(argv) {
    const plan = parseExecutorFlags(argv);
    if (!process.env.DOCKER_CONFIG && existsSync('/kaniko/.docker/config.json')) process.env.DOCKER_CONFIG = '/kaniko/.docker';
    const { buildDockerfile } = await import('../../../builders/dockerfile/buildDockerfile.js');
    const { extractContextTar } = await import('../../../builders/dockerfile/context/contextTar.js');
    const { copyFromSource } = await import('../../copy/copyImage.js');
    const { parseImageReference } = await import('../../transports/transportRegistry.js');
    // Under berth's data root: a build in place keeps it, where it would empty /tmp.
    const root = storeRoot(plan.cacheDir);
    mkdirSync(root, { recursive: true });
    const scratch = mkdtempSync(join(root, '.executor-'));
    try {
      const registriesConf = plan.registriesConf === undefined ? undefined : join(scratch, 'registries.conf');
      if (registriesConf) writeFileSync(registriesConf, plan.registriesConf!);
      const side = (options: RegistryOptions) => ({ registry: { ...options, ...(registriesConf ? { registriesConf } : {}) } as Record<string, unknown> });
      const context = plan.context.kind === 'dir' ? resolve(plan.context.path) : await extractContextTar(resolve(plan.context.file), join(scratch, 'context'));
      const dockerfile = isAbsolute(plan.dockerfile) || existsSync(plan.dockerfile) ? resolve(plan.dockerfile) : join(context, plan.dockerfile);
      const onProgress = plan.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
      const result = await buildDockerfile({
        context,
        dockerfile,
        tags: plan.push ? plan.destinations.map(destinationReference) : [],
        buildArgs: plan.buildArgs,
        ...(plan.target ? { target: plan.target } : {}),
        labels: plan.labels,
        ...(plan.timestamp ? { timestamp: plan.timestamp } : {}),
        noCache: !plan.cache,
        ...(plan.cacheRepo ? { cacheRepo: destinationReference(plan.cacheRepo) } : {}),
        ...(plan.cacheTtlMs !== undefined ? { cacheTtlMs: plan.cacheTtlMs } : {}),
        ...(plan.cacheDir ? { storeRoot: plan.cacheDir } : {}),
        isolation: 'none',
        force: plan.force,
        ignorePaths: plan.ignorePaths,
        cleanup: plan.cleanup,
        transportOptions: side(plan.pullRegistry),
        pushTransportOptions: side(plan.pushRegistry),
        ...(onProgress ? { onProgress } : {}),
      });
      const extra = [...(plan.tarPath ? [`docker-archive:${resolve(plan.tarPath)}${plan.destinations[0] ? `:${plan.destinations[0]}` : ''}`] : []), ...(plan.ociLayoutPath ? [`oci:${resolve(plan.ociLayoutPath)}`] : [])];
      for (const reference of extra) await copyFromSource(result.image, parseImageReference(reference));
      const digest = result.manifestDigest;
      if (plan.digestFile) writeFileSync(plan.digestFile, digest);
      const names = plan.destinations.map((d) => ({ tagged: d, name: d.replace(/(@[^@]+|:[^:/]+)$/, '') }));
      if (plan.nameWithDigestFile) writeFileSync(plan.nameWithDigestFile, names.map((n) => `${n.name}@${digest}\n`).join(''));
      if (plan.nameTagWithDigestFile) writeFileSync(plan.nameTagWithDigestFile, names.map((n) => `${n.tagged}@${digest}\n`).join(''));
      if (!plan.quiet) for (const d of result.destinations) process.stderr.write(`Pushed ${d.reference.replace(/^docker:\/\//, '')}@${d.manifestDigest}\n`);
      return 0;
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  },
};
