import { BerthError } from '../../errors/BerthError.js';
import '../../transports/allTransports.js';
import { parseImageReference } from '../../transports/transportRegistry.js';
import { parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';
import { mergeFlagSpecs, registryFlagSpec, registryFlagsUsageOne, transportOptionsFrom } from '../registryFlags.js';

const flagSpec: FlagSpec = mergeFlagSpecs({ boolean: ['all-tags-of-digest', 'quiet'], string: ['format'], alias: { q: 'quiet' } }, registryFlagSpec('one'));

export const deleteCommand: Command = {
  name: 'delete',
  flags: flagSpec,
  usage: `
Usage: berth delete [OPTIONS] IMAGE

Delete IMAGE. For docker://REPO@DIGEST the manifest is deleted (and every tag naming it).
For docker://REPO:TAG only that tag is removed where the registry supports OCI tag
deletion; otherwise berth deletes the manifest by digest only when no other tag points
at it, and refuses if one does, unless --all-tags-of-digest is given.

Options:
  -q, --quiet                 print nothing on success
      --all-tags-of-digest    accept that deleting a tag's manifest removes the other tags naming it
      --format json           print what was deleted as JSON
${registryFlagsUsageOne}
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'delete');
    const args = flags._.map(String);
    requireArgs(args, 1, 'delete', 'IMAGE');
    const format = flags.format === undefined ? undefined : String(flags.format);
    if (format !== undefined && format !== 'json') throw new BerthError('USAGE', `delete: unsupported --format "${format}" (json)`);
    const reference = parseImageReference(args[0]!);
    const options = transportOptionsFrom(flags, '');
    if (!reference.deleteImage) throw new BerthError('UNSUPPORTED', `${reference.transport.name}: images cannot be deleted`);
    const result = await reference.deleteImage(options, { allTagsOfDigest: flags['all-tags-of-digest'] === true });
    if (!result) {
      if (format === 'json') process.stdout.write(`${JSON.stringify({ deleted: reference.toString() })}\n`);
      return 0;
    }
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify({ image: reference.toString(), method: result.method, digest: result.deletedDigest ?? null, removedTags: result.removedTags }, null, 2)}\n`);
    } else {
      const what = result.method === 'tag' ? `tag ${result.removedTags[0]}` : `manifest ${result.deletedDigest}`;
      const tags = result.method === 'digest' && result.removedTags.length > 0 ? ` (tags removed: ${result.removedTags.join(', ')})` : '';
      if (!flags.quiet) process.stderr.write(`Deleted ${what}${tags}\n`);
    }
    return 0;
  },
};
