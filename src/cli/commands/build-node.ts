import { BerthError } from '../../errors/BerthError.js';
import { normalizePlatform, parsePlatform } from '../../oci/platform.js';
import { pullPolicyFrom, pullPolicyUsage } from '../pullPolicyFlag.js';
import { buildOutputFlagSpec, buildOutputUsage, signingHooksFrom, buildTimestamp, keyValues, writeBuildOutputs } from '../buildOutputFlags.js';
import { flagList, parseFlags, type Command, type FlagSpec } from '../command.js';
import { mergeFlagSpecs, registryFlagSpec, registryFlagsUsageOne, transportOptionsFrom } from '../registryFlags.js';

const flagSpec: FlagSpec = mergeFlagSpecs(
  { string: ['base', 'include', 'app-root', 'entrypoint', 'env', 'port', 'user', 'exclude', 'workspace', 'platform', 'pull'], boolean: ['ignore-scripts'], alias: { workspace: 'w' } },
  buildOutputFlagSpec,
  registryFlagSpec('one'),
);

export const buildNodeCommand: Command = {
  name: 'build-node',
  flags: flagSpec,
  usage: `
Usage: berth build-node [OPTIONS] [--base IMAGE] -t IMAGE [PROJECT-DIR]

Build an image from a Node project without a Dockerfile (jib-style): the base's layers, the production
dependencies from the lockfile (install scripts run inside the base; cached: an edit to the application rebuilds
only its own layer), the project's own packages (workspaces, file: directories), then the application's files
under /app (--app-root), with fixed owners, modes and times (SOURCE_DATE_EPOCH honoured).

Options:
      --base IMAGE         the base image (a Node runtime image; any berth reference); default: the official
                           node:MAJOR-slim for the lowest major version package.json's engines.node allows
  -w, --workspace NAME     build this workspace (name or directory) with just the local packages it needs
      --platform LIST|all  platforms to build, comma-separated (several write an index sharing the application's
                           layers; no emulation unless install scripts must run); all: every platform of the base
      --include dev        install devDependencies too
      --ignore-scripts     do not run the dependencies' install scripts (they run inside the base by default)
      --app-root DIR       where the application goes in the image (jib's appRoot; default /app)
      --entrypoint JSON|CMD  what the image runs (default: the single bin, else main with node, else npm start)
      --env K=V            an environment variable (repeatable)
      --port PORT[/PROTO]  an exposed port (repeatable)
      --user USER          the user the image runs as
      --exclude PATH       leave PATH out of the application layer (repeatable)
      (SOURCE_DATE_EPOCH pins every time in the image; default 1970-01-01T00:00:01Z)${buildOutputUsage}${pullPolicyUsage}
Registry options (base and -t):${registryFlagsUsageOne}
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'build-node');
    const args = flags._.map(String);
    if (args.length > 1) throw new BerthError('USAGE', 'build-node: expected one PROJECT-DIR (see berth build-node --help)');
    const include = flagList(flags.include);
    if (include.some((i) => i !== 'dev')) throw new BerthError('USAGE', 'build-node: --include takes dev');
    const entrypointText = flags.entrypoint as string | undefined;
    const entrypoint = entrypointText === undefined ? undefined : entrypointText.trim().startsWith('[') ? (JSON.parse(entrypointText) as string[]) : ['/bin/sh', '-c', entrypointText];
    const timestamp = buildTimestamp(undefined, 'build-node');
    const platformText = flagList(flags.platform).join(',');
    const platforms = platformText === '' ? undefined : platformText === 'all' ? ('all' as const) : platformText.split(',').map((p) => normalizePlatform(parsePlatform(p.trim())));
    const quiet = flags.quiet === true;
    const { buildNodeProject } = await import('../../../builders/node/buildNodeProject.js');
    const hooksFor = await signingHooksFrom(flags);
    const pull = pullPolicyFrom(flags, 'build-node');
    const result = await buildNodeProject({
      ...(pull ? { pull } : {}),
      ...(hooksFor ? { hooksFor } : {}),
      project: args[0] ?? '.',
      tags: flagList(flags.tag),
      ...(flags.base ? { base: String(flags.base) } : {}),
      ...(flags.workspace ? { workspace: String(flags.workspace) } : {}),
      ...(platforms ? { platforms } : {}),
      includeDev: include.includes('dev'),
      ignoreScripts: flags['ignore-scripts'] === true,
      ...(entrypoint ? { entrypoint } : {}),
      ...(flags['app-root'] ? { appRoot: String(flags['app-root']) } : {}),
      env: flagList(flags.env),
      labels: keyValues(flagList(flags.label), '--label', 'build-node'),
      ports: flagList(flags.port),
      ...(flags.user !== undefined ? { user: String(flags.user) } : {}),
      exclude: flagList(flags.exclude),
      ...(timestamp ? { timestamp } : {}),
      transportOptions: transportOptionsFrom(flags, ''),
      onProgress: quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
    });
    writeBuildOutputs(flags, result, 'build-node');
    return 0;
  },
};
