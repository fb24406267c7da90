import { copyImage } from '../../copy/copyImage.js';
import { BerthError } from '../../errors/BerthError.js';
import '../../transports/allTransports.js';
import { parseImageReference } from '../../transports/transportRegistry.js';
import { parseFlags, type Command, type FlagSpec } from '../command.js';
import { transportOptionsFrom, mergeFlagSpecs, registryFlagSpec } from '../registryFlags.js';
import { qualifiedName } from '../storeNames.js';

const flagSpec: FlagSpec = mergeFlagSpecs({}, registryFlagSpec('one'));

export const tagCommand: Command = {
  name: 'tag',
  flags: flagSpec,
  usage: `
Usage: berth tag IMAGE NEW-NAME...

Give an image of the local store more names (podman tag). The blobs are shared; only the names are new.
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'tag');
    const args = flags._.map(String);
    if (args.length < 2) throw new BerthError('USAGE', 'tag: expected IMAGE NEW-NAME... (see berth tag --help)');
    const options = transportOptionsFrom(flags, '');
    const source = parseImageReference(`berth:${await qualifiedName(args[0]!, options)}`);
    for (const name of args.slice(1)) {
      await copyImage(source, parseImageReference(`berth:${await qualifiedName(name, options)}`), { sourceOptions: options, destinationOptions: options });
    }
    return 0;
  },
};
