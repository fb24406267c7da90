import { writeFile } from 'node:fs/promises';
import { copyImage, type CopyResult } from '../../copy/copyImage.js';
import { BerthError } from '../../errors/BerthError.js';
import { parsePlatform } from '../../oci/platform.js';
import '../../transports/allTransports.js';
import { parseImageReference } from '../../transports/transportRegistry.js';
import { flagList, parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';
import { formatBytes, progressDisplay } from '../progressDisplay.js';
import { blobRetriesFrom, mergeFlagSpecs, registryFlagSpec, registryFlagsUsageTwo, transportOptionsFrom } from '../registryFlags.js';
import { trustFlagSpec, trustFlagsUsage, trustHooksFrom } from '../trustFlags.js';

const flagSpec: FlagSpec = mergeFlagSpecs(
  {
    boolean: ['all', 'preserve-digests', 'quiet'],
    string: ['platform', 'digestfile', 'format', 'image-parallel-copies'],
    alias: { a: 'all', q: 'quiet' },
  },
  registryFlagSpec('two'),
  trustFlagSpec,
);

export const copyCommand: Command = {
  name: 'copy',
  flags: flagSpec,
  usage: `
Usage: berth copy [OPTIONS] SOURCE-IMAGE DESTINATION-IMAGE

Copy an image (or an index with its instances) from one location to another.
Images are TRANSPORT:NAME: docker://HOST/REPO[:TAG|@DIGEST], oci:PATH[:TAG],
oci-archive:FILE[:TAG], docker-archive:FILE[:REF], dir:PATH, berth:NAME (the local store).

Options:
  -a, --all                   copy every image of an index
      --platform OS/ARCH[/V]  copy only this platform of an index (repeatable); result is an index of those
      --preserve-digests      fail instead of changing any manifest digest
      --image-parallel-copies N  blobs copied at once (default 4)
      --digestfile FILE       write the digest of the copied manifest to FILE
      --format json           print the result as JSON
  -q, --quiet                 print nothing on success
Trust options:${trustFlagsUsage}
Registry options (docker:// on either side):${registryFlagsUsageTwo}
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'copy');
    const args = flags._.map(String);
    requireArgs(args, 2, 'copy', 'SOURCE-IMAGE DESTINATION-IMAGE');
    const format = flags.format as string | undefined;
    if (format !== undefined && format !== 'json') throw new BerthError('USAGE', `copy: unsupported --format "${format}" (json)`);
    const parallel = flags['image-parallel-copies'] === undefined ? undefined : Number(flags['image-parallel-copies']);
    if (parallel !== undefined && (!Number.isInteger(parallel) || parallel < 1)) throw new BerthError('USAGE', 'copy: --image-parallel-copies takes a positive whole number');
    const platforms = flagList(flags.platform).map(parsePlatform);

    const source = parseImageReference(args[0] as string);
    const destination = parseImageReference(args[1] as string);
    const sourceOptions = transportOptionsFrom(flags, 'src-');
    const destinationOptions = transportOptionsFrom(flags, 'dest-');
    const result = await copyImage(source, destination, {
      ...(await trustHooksFrom(flags, sourceOptions, destination)),
      all: flags.all === true,
      ...(platforms.length > 0 ? { platforms } : {}),
      preserveDigests: flags['preserve-digests'] === true,
      ...(parallel !== undefined ? { parallelism: parallel } : {}),
      blobRetries: blobRetriesFrom(destinationOptions),
      onProgress: flags.quiet || format ? undefined : progressDisplay(process.stderr),
      sourceOptions,
      destinationOptions,
    });
    if (flags.digestfile) await writeFile(String(flags.digestfile), result.manifestDigest);
    if (format === 'json') process.stdout.write(`${JSON.stringify(copyResultJson(result), null, 2)}\n`);
    else if (!flags.quiet) process.stderr.write(`${summaryLine(result)}\n`);
    return 0;
  },
};

function copyResultJson(result: CopyResult): Record<string, unknown> {
  return {
    source: result.source.toString(),
    destination: result.destination.toString(),
    manifestDigest: result.manifestDigest,
    mediaType: result.mediaType,
    instances: result.instanceDigests,
    blobsCopied: result.blobsCopied,
    blobsReused: result.blobsReused,
    blobsSkipped: result.blobsSkipped,
    bytesCopied: result.bytesCopied,
  };
}

function summaryLine(result: CopyResult): string {
  const instances = result.instanceDigests.length > 0 ? ` (${result.instanceDigests.length} instances)` : '';
  return `Copied ${result.manifestDigest}${instances}: ${result.blobsCopied} blobs copied (${formatBytes(result.bytesCopied)}), ${result.blobsReused} reused`;
}
