import { BerthError } from '../../errors/BerthError.js';
import { parsePlatform } from '../../oci/platform.js';
import { runSync, type SyncDestinationKind, type SyncResult } from '../../sync/runSync.js';
import { compileTagRegex, dirSyncItems, dockerSyncItems, yamlSyncItems, type SyncItem } from '../../sync/syncSources.js';
import '../../transports/allTransports.js';
import { flagList, parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';
import { exitCodeFor } from '../exitCodes.js';
import { syncProgressDisplay } from '../progressDisplay.js';
import { blobRetriesFrom, mergeFlagSpecs, registryFlagSpec, registryFlagsUsageTwo, transportOptionsFrom } from '../registryFlags.js';
import { trustFlagSpec, trustFlagsUsage, trustHooksFrom } from '../trustFlags.js';

const flagSpec: FlagSpec = mergeFlagSpecs(
  {
    string: ['src', 'dest', 'tag-regex', 'tag-semver', 'platform', 'parallel-images', 'image-parallel-copies', 'format'],
    boolean: ['scoped', 'all', 'preserve-digests', 'dry-run', 'keep-going', 'quiet'],
    alias: { s: 'src', d: 'dest', a: 'all', q: 'quiet' },
  },
  registryFlagSpec('two'),
  trustFlagSpec,
);

export const syncCommand: Command = {
  name: 'sync',
  flags: flagSpec,
  usage: `
Usage: berth sync --src docker|dir|yaml --dest docker|dir|oci [OPTIONS] SOURCE DESTINATION

SOURCE is a repository (HOST/REPO: every tag; HOST/REPO:TAG: one image), a directory
of dir: images, or a skopeo-sync YAML file. Images land at DESTINATION/REPO:TAG
(docker: a registry namespace; dir: a directory; oci: one OCI layout, tagged REPO:TAG).
With --scoped the whole source name (HOST/PATH/REPO:TAG) is kept.

Options:
      --src KIND              docker, dir or yaml
      --dest KIND             docker, dir or oci
      --scoped                keep the full source name under DESTINATION
      --tag-regex REGEX       only tags matching REGEX (docker source)
      --tag-semver RANGE      only tags that are versions within RANGE, e.g. ">=1.2 <2" (docker source)
  -a, --all                   copy every image of an index
      --platform OS/ARCH[/V]  copy only these platforms of an index (repeatable)
      --preserve-digests      fail instead of changing any manifest digest
      --parallel-images N     images copied at once (default 4)
      --image-parallel-copies N  blobs copied at once per image (default 4)
      --dry-run               list what would be copied, copy nothing
      --keep-going            go on after an image fails; exit non-zero at the end
      --format json           print results as JSON
  -q, --quiet                 print only errors
Trust options:${trustFlagsUsage}
Registry options:${registryFlagsUsageTwo}
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'sync');
    const args = flags._.map(String);
    requireArgs(args, 2, 'sync', 'SOURCE DESTINATION');
    const srcKind = String(flags.src ?? '');
    const destKind = String(flags.dest ?? '');
    if (!['docker', 'dir', 'yaml'].includes(srcKind)) throw new BerthError('USAGE', 'sync: --src must be docker, dir or yaml');
    if (!['docker', 'dir', 'oci'].includes(destKind)) throw new BerthError('USAGE', 'sync: --dest must be docker, dir or oci');
    const format = flags.format === undefined ? undefined : String(flags.format);
    if (format !== undefined && format !== 'json') throw new BerthError('USAGE', `sync: unsupported --format "${format}" (json)`);
    const positive = (name: string, fallback: number): number => {
      if (flags[name] === undefined) return fallback;
      const n = Number(flags[name]);
      if (!Number.isInteger(n) || n < 1) throw new BerthError('USAGE', `sync: --${name} takes a positive whole number`);
      return n;
    };
    const tagRegex = flags['tag-regex'] === undefined ? undefined : compileTagRegex(String(flags['tag-regex']));
    const tagSemver = flags['tag-semver'] === undefined ? undefined : String(flags['tag-semver']);
    if ((tagRegex || tagSemver) && srcKind !== 'docker') throw new BerthError('USAGE', 'sync: --tag-regex/--tag-semver apply to --src docker (YAML files have images-by-tag-regex/images-by-semver)');
    const platforms = flagList(flags.platform).map(parsePlatform);
    const sourceOptions = transportOptionsFrom(flags, 'src-');
    const destinationOptions = transportOptionsFrom(flags, 'dest-');
    const scoped = flags.scoped === true;

    let items: SyncItem[];
    if (srcKind === 'docker') items = await dockerSyncItems(args[0]!, scoped, { ...(tagRegex ? { regex: tagRegex } : {}), ...(tagSemver ? { semverRange: tagSemver } : {}) }, sourceOptions);
    else if (srcKind === 'dir') items = dirSyncItems(args[0]!, sourceOptions);
    else items = await yamlSyncItems(args[0]!, scoped, sourceOptions);
    if (items.length === 0) throw new BerthError('NOT_FOUND', `sync: nothing to copy from ${args[0]}`);

    const quiet = flags.quiet === true || format === 'json';
    const progress = quiet ? undefined : syncProgressDisplay(process.stderr, items.length);
    const results = await runSync(items, {
      destinationKind: destKind as SyncDestinationKind,
      destination: args[1]!,
      destinationOptions,
      parallelImages: positive('parallel-images', 4),
      dryRun: flags['dry-run'] === true,
      keepGoing: flags['keep-going'] === true,
      copy: {
        ...(await trustHooksFrom(flags, sourceOptions)),
        all: flags.all === true,
        ...(platforms.length > 0 ? { platforms } : {}),
        preserveDigests: flags['preserve-digests'] === true,
        parallelism: positive('image-parallel-copies', 4),
        blobRetries: blobRetriesFrom(destinationOptions),
      },
      ...(progress ? { onProgress: progress.onProgress } : {}),
      onResult: (r) => {
        progress?.clear();
        if (r.status === 'failed') process.stderr.write(`berth: sync ${r.source}: ${r.error}\n`);
        else if (!quiet) process.stderr.write(`${line(r)}\n`);
        progress?.imageDone();
      },
    });
    progress?.clear();
    const failed = results.filter((r) => r.status === 'failed').length;
    if (format === 'json') process.stdout.write(`${JSON.stringify(results.map(json), null, 2)}\n`);
    else if (!quiet) {
      const copied = results.filter((r) => r.status === 'copied').length;
      const unchanged = results.filter((r) => r.status === 'unchanged').length;
      const planned = results.filter((r) => r.status === 'planned').length;
      const notStarted = items.length - results.length;
      const rest = notStarted > 0 ? `, ${notStarted} not started (a failure stops the sync; --keep-going goes on)` : '';
      process.stderr.write(flags['dry-run'] ? `Would sync ${planned} image(s)\n` : `Synced ${results.length} image(s): ${copied} copied, ${unchanged} unchanged, ${failed} failed${rest}\n`);
    }
    // Each failure was reported on its line and the summary counted it: the exit status is the first failure's.
    const firstFailure = results.find((r) => r.status === 'failed');
    return firstFailure ? exitCodeFor(firstFailure.code ?? 'INTERNAL') : 0;
  },
};

function line(r: SyncResult): string {
  if (r.status === 'planned') return `Would copy ${r.source} to ${r.destination}`;
  if (r.status === 'unchanged') return `Unchanged ${r.destination} (${r.digest})`;
  return `Copied ${r.source} to ${r.destination} (${r.digest})`;
}

function json(r: SyncResult): Record<string, unknown> {
  return { source: r.source, destination: r.destination, status: r.status, digest: r.digest ?? null, ...(r.error ? { error: r.error } : {}), ...(r.copy ? { blobsCopied: r.copy.blobsCopied, blobsReused: r.copy.blobsReused, bytesCopied: r.copy.bytesCopied } : {}) };
}
