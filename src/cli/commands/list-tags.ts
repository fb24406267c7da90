import { BerthError } from '../../errors/BerthError.js';
import '../../transports/allTransports.js';
import { parseImageReference } from '../../transports/transportRegistry.js';
import { parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';
import { mergeFlagSpecs, registryFlagSpec, registryFlagsUsageOne, transportOptionsFrom } from '../registryFlags.js';

const flagSpec: FlagSpec = mergeFlagSpecs({ string: ['format'] }, registryFlagSpec('one'));

export const listTagsCommand: Command = {
  name: 'list-tags',
  flags: flagSpec,
  usage: `
Usage: berth list-tags [OPTIONS] docker://HOST/REPOSITORY

Print {"Repository": ..., "Tags": [...]} as skopeo does (all pages of the tag list).

Options:
      --format json|lines     JSON (default) or one tag per line
${registryFlagsUsageOne}
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'list-tags');
    const args = flags._.map(String);
    requireArgs(args, 1, 'list-tags', 'REPOSITORY');
    const format = flags.format === undefined ? 'json' : String(flags.format);
    if (format !== 'json' && format !== 'lines') throw new BerthError('USAGE', `list-tags: unsupported --format "${format}" (json, lines)`);
    const reference = parseImageReference(args[0]!);
    if (!reference.listTags) throw new BerthError('UNSUPPORTED', `list-tags works on docker:// repositories, not ${reference.transport.name}:`);
    if (/[:@]/.test(reference.within.slice(reference.within.lastIndexOf('/') + 1))) {
      throw new BerthError('USAGE', `list-tags: "${args[0]}" names a tag or digest; give the repository only`);
    }
    const { repository, tags } = await reference.listTags(transportOptionsFrom(flags, ''));
    if (format === 'lines') process.stdout.write(tags.map((t) => `${t}\n`).join(''));
    else process.stdout.write(`${JSON.stringify({ Repository: repository, Tags: tags }, null, 4)}\n`);
    return 0;
  },
};
