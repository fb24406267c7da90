import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { ContainerRecords } from '../../run/containerRecords.js';
import { RootfsCache } from '../../store/rootfsCache.js';
import { pruneBuildCache } from '../../store/buildCacheUse.js';
import { storeRoot } from '../../store/storeRoot.js';
import { parseGoDuration } from '../../../builders/dockerfile/compile/goDuration.js';
import { parseFlags, type Command, type FlagSpec } from '../command.js';

const flagSpec: FlagSpec = { boolean: ['quiet'], string: ['format', 'filter'], alias: { q: 'quiet' } };

export const systemCommand: Command = {
  name: 'system',
  flags: flagSpec,
  subcommands: { prune: flagSpec },
  usage: `
Usage: berth system prune [OPTIONS]

Free the space of berth's local caches: the images "berth run" unpacked that no
existing container uses (the next run unpacks them again), unpacks left
half-done by a process that died, and the build cache (the steps berth build
cached and the dependency layers of berth build-node, with the blobs only they
used; RUN --mount=type=cache directories stay). While a build runs, its cache
is kept. Stored images and containers are kept (berth rmi and berth rm remove
those).

Options:
  -q, --quiet            print nothing on success
      --format json      print what was removed as JSON
      --filter until=DURATION  only build cache entries made more than DURATION ago (e.g. 168h)
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'system');
    const [sub, ...rest] = flags._.map(String);
    if (sub !== 'prune') throw new BerthError('USAGE', sub === undefined ? 'system: expected a subcommand: prune (see berth system --help)' : `system: unknown subcommand "${sub}" (prune)`);
    if (rest.length > 0) throw new BerthError('USAGE', `system prune: expected no arguments, got ${rest.length}`);
    if (flags.format !== undefined && flags.format !== 'json') throw new BerthError('USAGE', `system prune: unsupported --format "${String(flags.format)}" (json)`);
    const olderThanMs = untilFilter(flags.filter);
    const records = new ContainerRecords();
    const report = await new RootfsCache().prune((id) => existsSync(records.containerDir(id)));
    const buildCache = pruneBuildCache(join(storeRoot(), 'build-cache'), olderThanMs === undefined ? {} : { olderThanMs });
    if (flags.format === 'json') process.stdout.write(`${JSON.stringify({ rootfsCache: report, buildCache }, null, 2)}\n`);
    else if (!flags.quiet) {
      process.stdout.write(`Removed ${report.removed.length} unpacked image(s) and ${report.orphans} unfinished unpack(s); kept ${report.kept.length} in use\n`);
      process.stdout.write(buildCache.skipped
        ? `Build cache: ${buildCache.skipped}\n`
        : `Build cache: removed ${buildCache.steps} step(s), ${buildCache.dependencyLayers} dependency layer(s) and ${buildCache.blobs} blob(s), ${(buildCache.bytes / 1e6).toFixed(1)} MB\n`);
    }
    return 0;
  },
};

/** podman's `--filter until=DURATION` (Go durations, as 168h). */
function untilFilter(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  const ns = text.startsWith('until=') ? parseGoDuration(text.slice('until='.length)) : undefined;
  if (ns === undefined || ns < 0) throw new BerthError('USAGE', `system prune: --filter takes until=DURATION (e.g. until=168h), got "${text}"`);
  return ns / 1e6;
}
