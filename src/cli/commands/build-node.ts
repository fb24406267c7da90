import { writeFileSync } from 'node:fs';
import { BerthError } from '../../errors/BerthError.js';
import { flagList, parseFlags, type Command } from '../command.js';
import { mergeFlagSpecs, registryFlagSpec, registryFlagsUsageOne, transportOptionsFrom } from '../registryFlags.js';

export const buildNodeCommand: Command = {
  name: 'build-node',
  usage: `
Usage: berth build-node [OPTIONS] --base IMAGE -t IMAGE [PROJECT-DIR]

Build an image from a Node project without a Dockerfile (jib-style): the base's layers, the production
dependencies from the lockfile (cached: an edit to the application rebuilds only its own layer), then the
application's files under /app, with fixed owners and times (SOURCE_DATE_EPOCH honoured).

Options:
  -t, --tag IMAGE          where the image goes (repeatable): a berth reference, or a bare name for the local store
      --base IMAGE         the base image (a Node runtime image; any berth reference)
      --include dev        install devDependencies too
      --ignore-scripts     build although packages have install scripts (they are not run)
      --entrypoint JSON|CMD  what the image runs (default: the single bin, else main with node, else npm start)
      --env K=V            an environment variable (repeatable)
      --label K=V          a label (repeatable)
      --port PORT[/PROTO]  an exposed port (repeatable)
      --user USER          the user the image runs as
      --exclude PATH       leave PATH out of the application layer (repeatable)
      --iidfile FILE       write the image ID (config digest) to FILE
      --digestfile FILE    write the manifest digest of the first -t to FILE
  -q, --quiet              print only the image ID
Registry options (base and -t):${registryFlagsUsageOne}
`,
  async run(argv) {
    const flags = parseFlags(
      argv,
      mergeFlagSpecs(
        { string: ['tag', 'base', 'include', 'entrypoint', 'env', 'label', 'port', 'user', 'exclude', 'iidfile', 'digestfile'], boolean: ['ignore-scripts', 'quiet'], alias: { t: 'tag', q: 'quiet' } },
        registryFlagSpec('one'),
      ),
      'build-node',
    );
    const args = flags._.map(String);
    if (args.length > 1) throw new BerthError('USAGE', 'build-node: expected one PROJECT-DIR (see berth build-node --help)');
    if (!flags.base) throw new BerthError('USAGE', 'build-node: --base IMAGE is required (an image with Node, e.g. docker.io/library/node:22-slim)');
    const include = flagList(flags.include);
    if (include.some((i) => i !== 'dev')) throw new BerthError('USAGE', 'build-node: --include takes dev');
    const entrypointText = flags.entrypoint as string | undefined;
    const entrypoint = entrypointText === undefined ? undefined : entrypointText.trim().startsWith('[') ? (JSON.parse(entrypointText) as string[]) : ['/bin/sh', '-c', entrypointText];
    const seconds = process.env.SOURCE_DATE_EPOCH === undefined ? undefined : Number(process.env.SOURCE_DATE_EPOCH);
    if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < 0)) throw new BerthError('USAGE', 'build-node: SOURCE_DATE_EPOCH must be whole seconds since 1970');
    const labels: Record<string, string> = {};
    for (const item of flagList(flags.label)) {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new BerthError('USAGE', `build-node: --label must be KEY=VALUE, got "${item}"`);
      labels[item.slice(0, eq)] = item.slice(eq + 1);
    }
    const quiet = flags.quiet === true;
    const { buildNodeProject } = await import('../../../builders/node/buildNodeProject.js');
    const result = await buildNodeProject({
      project: args[0] ?? '.',
      tags: flagList(flags.tag),
      base: String(flags.base),
      includeDev: include.includes('dev'),
      ignoreScripts: flags['ignore-scripts'] === true,
      ...(entrypoint ? { entrypoint } : {}),
      env: flagList(flags.env),
      labels,
      ports: flagList(flags.port),
      ...(flags.user !== undefined ? { user: String(flags.user) } : {}),
      exclude: flagList(flags.exclude),
      ...(seconds !== undefined ? { timestamp: new Date(seconds * 1000) } : {}),
      transportOptions: transportOptionsFrom(flags, ''),
      onProgress: quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
    });
    if (flags.iidfile) writeFileSync(String(flags.iidfile), result.imageId);
    if (flags.digestfile) {
      const first = result.destinations[0];
      if (!first) throw new BerthError('USAGE', 'build-node: --digestfile needs a -t destination');
      writeFileSync(String(flags.digestfile), first.manifestDigest);
    }
    process.stdout.write(`${result.imageId}\n`);
    return 0;
  },
};
