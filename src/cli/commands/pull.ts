import '../../transports/allTransports.js';
import { parseImageReference } from '../../transports/transportRegistry.js';
import { parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';
import { policyCopyFlagSpec, copyUnderPolicy } from '../policyCopy.js';
import { registryFlagsUsageOne, transportOptionsFrom } from '../registryFlags.js';
import { qualifiedName } from '../storeNames.js';
import { trustFlagsUsage } from '../trustFlags.js';

const flagSpec: FlagSpec = policyCopyFlagSpec;

export const pullCommand: Command = {
  name: 'pull',
  flags: flagSpec,
  usage: `
Usage: berth pull [OPTIONS] NAME[:TAG|@DIGEST]

Pull an image from its registry into the local store (podman pull), under the trust policy. A short name is
resolved by registries.conf; the image is stored under its fully qualified name. Prints the manifest digest.

Options:
  -q, --quiet                 print only the digest
Trust options:${trustFlagsUsage}
Registry options:${registryFlagsUsageOne}
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'pull');
    const args = flags._.map(String);
    requireArgs(args, 1, 'pull', 'NAME');
    const options = transportOptionsFrom(flags, '');
    const name = await qualifiedName(args[0]!, options);
    const destination = parseImageReference(`berth:${name}`);
    const result = await copyUnderPolicy(parseImageReference(`docker://${name}`), destination, flags, options);
    process.stdout.write(`${result.manifestDigest}\n`);
    return 0;
  },
};
