import { readFileSync, statSync } from 'node:fs';
import { BerthError } from '../../errors/BerthError.js';
import { normalizePlatform, parsePlatform } from '../../oci/platform.js';
import { pullPolicyFrom, pullPolicyUsage } from '../pullPolicyFlag.js';
import { buildOutputFlagSpec, buildOutputUsage, signingHooksFrom, buildTimestamp, keyValues, writeBuildOutputs } from '../buildOutputFlags.js';
import { flagList, parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';
import { parseGoDuration } from '../../../builders/dockerfile/compile/goDuration.js';
import { mergeFlagSpecs, registryFlagSpec, registryFlagsUsageOne, transportOptionsFrom } from '../registryFlags.js';
import type minimist from 'minimist';

const flagSpec: FlagSpec = mergeFlagSpecs(
  {
    string: ['file', 'target', 'build-arg', 'build-arg-file', 'secret', 'ssh', 'pull', 'network', 'timestamp', 'output', 'annotation', 'isolation', 'ignore-path', 'cache-repo', 'cache-from', 'cache-to', 'cache-ttl', 'format', 'platform'],
    boolean: ['no-cache', 'force'],
    alias: { f: 'file', o: 'output' },
  },
  buildOutputFlagSpec,
  registryFlagSpec('one'),
);

export const buildCommand: Command = {
  name: 'build',
  flags: flagSpec,
  usage: `
Usage: berth build [OPTIONS] [CONTEXT]

Build an image from a Dockerfile (buildah bud / docker build), without a daemon. RUN steps run in a
container of their own (berth-runc, as root); every step is cached (--no-cache to rebuild).

Options:
  -f, --file FILE           the Dockerfile (default CONTEXT/Dockerfile; - reads it from stdin)
      --target STAGE        build this stage (and only the stages it needs)
      --build-arg K[=V]     a build argument (repeatable; K alone takes V from the environment)
      --build-arg-file FILE build arguments, one K=V per line
      --secret id=ID,src=FILE  a secret for RUN --mount=type=secret (repeatable)
      --ssh default|ID[=SOCKET]  an ssh agent for RUN --mount=type=ssh (default socket: $SSH_AUTH_SOCK; repeatable)
      --network host|none   the network RUN gets by default (default host)
      --isolation container|none  how RUN is isolated: a container of its own (needs root with CAP_SYS_ADMIN), or
                            none: in place, in this container's own root (kaniko mode, for unprivileged CI pods);
                            default: the first the environment allows, said on the first line
      --ignore-path PATH    with --isolation none: a path of this container the build leaves alone (repeatable)
      --force               allow --isolation none where berth cannot tell it runs in a container
      --format oci|docker   the manifest format of the image written to the tags (default oci)
      --platform OS/ARCH[/VARIANT]  the platform to build for (default this host's; RUN needs it to run here)
      --no-cache            do not use cached steps
      --cache-repo REPO     also keep steps in this registry repository, shared by CI runners (kaniko's flag);
                            --cache-from/--cache-to type=registry,ref=REPO are the same (BuildKit's spelling)
      --cache-ttl DURATION  cached steps older than this are rebuilt (e.g. 168h)
      --timestamp SECONDS   pin every time in the image (default: $SOURCE_DATE_EPOCH when set)
  -o, --output type=oci|docker,dest=FILE  also write the image as an OCI or docker archive
  -o, --output type=local,dest=DIR        also write the image's files into DIR
      --annotation K=V      a manifest annotation (repeatable)${buildOutputUsage}${pullPolicyUsage}
Registry options (FROM and -t):${registryFlagsUsageOne}
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'build');
    const args = flags._.map(String);
    if (args.length > 1) requireArgs(args, 1, 'build', 'one CONTEXT directory');
    const network = (flags.network as string | undefined) ?? 'host';
    if (network !== 'host' && network !== 'none') throw new BerthError('USAGE', `build: --network must be host or none, got "${network}"`);
    const timestamp = buildTimestamp(flags.timestamp as string | undefined, 'build');
    const file = flags.file as string | undefined;
    const quiet = flags.quiet === true;
    const { buildDockerfile } = await import('../../../builders/dockerfile/buildDockerfile.js');
    const hooksFor = await signingHooksFrom(flags);
    const pull = pullPolicyFrom(flags, 'build');
    const result = await buildDockerfile({
      ...(pull ? { pull } : {}),
      ...(hooksFor ? { hooksFor } : {}),
      context: args[0] ?? '.',
      ...(file === '-' ? { dockerfileText: readFileSync(0, 'utf8') } : file ? { dockerfile: file } : {}),
      tags: flagList(flags.tag),
      ...(flags.target ? { target: String(flags.target) } : {}),
      buildArgs: buildArgs(flagList(flags['build-arg']), flags['build-arg-file'] as string | undefined),
      noCache: flags['no-cache'] === true,
      ...(timestamp ? { timestamp } : {}),
      labels: keyValues(flagList(flags.label), '--label', 'build'),
      annotations: keyValues(flagList(flags.annotation), '--annotation', 'build'),
      ...(flags.output ? { output: outputFlag(String(flags.output)) } : {}),
      secrets: secrets(flagList(flags.secret)),
      sshAgents: sshAgents(flagList(flags.ssh)),
      network,
      ...(flags.isolation ? { isolation: String(flags.isolation) } : {}),
      force: flags.force === true,
      ...cacheFlags(flags),
      ...manifestFormat(flags.format),
      ...(flags.platform ? { platform: normalizePlatform(parsePlatform(String(flags.platform))) } : {}),
      ignorePaths: flagList(flags['ignore-path']),
      transportOptions: transportOptionsFrom(flags, ''),
      onProgress: quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
    });
    if (!quiet) for (const d of result.destinations) process.stderr.write(`COMMIT ${d.reference}\n`);
    writeBuildOutputs(flags, result, 'build');
    return 0;
  },
};


/** --build-arg K=V, or K alone for the value in the environment (skipped when unset, as docker does). */
export function buildArgs(items: string[], file: string | undefined): Record<string, string> {
  const lines = file ? readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')) : [];
  const out: Record<string, string> = {};
  for (const item of [...lines, ...items]) {
    const eq = item.indexOf('=');
    if (eq === 0) throw new BerthError('USAGE', `build: --build-arg must be KEY[=VALUE], got "${item}"`);
    if (eq > 0) out[item.slice(0, eq)] = item.slice(eq + 1);
    else if (process.env[item] !== undefined) out[item] = process.env[item]!;
  }
  return out;
}

function secrets(items: string[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const item of items) {
    const fields = new Map(item.split(',').map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)] as const));
    const id = fields.get('id');
    const src = fields.get('src') ?? fields.get('source');
    const env = fields.get('env');
    if (!id || (!src && !env)) throw new BerthError('USAGE', `build: --secret must be id=ID,src=FILE or id=ID,env=VAR, got "${item}"`);
    if (src) {
      try {
        out.set(id, readFileSync(src));
      } catch {
        throw new BerthError('NOT_FOUND', `build: --secret id=${id}: cannot read ${src}`);
      }
    } else {
      const value = process.env[env!];
      if (value === undefined) throw new BerthError('USAGE', `build: --secret id=${id}: $${env} is not set`);
      out.set(id, Buffer.from(value));
    }
  }
  return out;
}

/** --ssh default|ID[=SOCKET]: the ssh agents RUN --mount=type=ssh forwards (without a socket, $SSH_AUTH_SOCK's). */
function sshAgents(items: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of items) {
    const [id, socket = process.env.SSH_AUTH_SOCK] = item.split(/=(.*)/s, 2) as [string, string | undefined];
    if (!id) throw new BerthError('USAGE', `build: --ssh must be ID or ID=SOCKET, got "${item}"`);
    if (!socket) throw new BerthError('USAGE', `build: --ssh ${id}: no agent socket given and SSH_AUTH_SOCK is not set`);
    let isSocket = false;
    try {
      isSocket = statSync(socket).isSocket();
    } catch {
      throw new BerthError('NOT_FOUND', `build: --ssh ${id}: ${socket} does not exist`);
    }
    if (!isSocket) throw new BerthError('USAGE', `build: --ssh ${id}: ${socket} is not an ssh agent socket (key files are not taken: add them to ssh-agent)`);
    out.set(id, socket);
  }
  return out;
}

/** --cache-repo, or BuildKit's --cache-from/--cache-to type=registry,ref=REPO for the same repository; --cache-ttl. */
function cacheFlags(flags: minimist.ParsedArgs): { cacheRepo?: string; cacheTtlMs?: number } {
  const repos = new Set<string>(flagList(flags['cache-repo']));
  for (const flag of ['cache-from', 'cache-to']) {
    for (const item of flagList(flags[flag])) {
      const fields = new Map(item.split(',').map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)] as const));
      const ref = fields.get('ref');
      if ((fields.get('type') ?? 'registry') !== 'registry' || !ref) throw new BerthError('USAGE', `build: --${flag} must be type=registry,ref=REPOSITORY, got "${item}"`);
      repos.add(ref);
    }
  }
  if (repos.size > 1) throw new BerthError('USAGE', `build: one cache repository at a time, got ${[...repos].join(', ')}`);
  const repo = [...repos][0];
  const ttl = flagList(flags['cache-ttl']).at(-1);
  return {
    ...(repo ? { cacheRepo: repo.includes('://') ? repo : `docker://${repo}` } : {}),
    ...(ttl !== undefined ? { cacheTtlMs: cacheTtlMs(ttl) } : {}),
  };
}

/** --cache-ttl as kaniko takes it: a Go duration (168h, 2h30m). */
export function cacheTtlMs(text: string): number {
  const ns = parseGoDuration(text);
  if (ns === undefined || ns <= 0) throw new BerthError('USAGE', `--cache-ttl takes a duration such as 168h or 2h30m, got "${text}"`);
  return ns / 1e6;
}

/** --format oci|docker (buildah's; also BUILDAH_FORMAT). */
function manifestFormat(value: unknown): { format?: 'oci' | 'docker' } {
  const format = value === undefined ? process.env.BUILDAH_FORMAT : String(value);
  if (format === undefined) return {};
  if (format !== 'oci' && format !== 'docker') throw new BerthError('USAGE', `build: --format must be oci or docker, got "${format}"`);
  return { format };
}

/** --output type=oci|docker|local,dest=PATH (BuildKit's spelling). */
function outputFlag(text: string): { type: 'oci' | 'docker' | 'local'; dest: string } {
  const fields = new Map(text.split(',').map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)] as const));
  const type = fields.get('type');
  const dest = fields.get('dest');
  if ((type !== 'oci' && type !== 'docker' && type !== 'local') || !dest) throw new BerthError('USAGE', `build: --output must be type=oci|docker|local,dest=PATH, got "${text}"`);
  return { type, dest };
}
