import '../../transports/allTransports.js';
import { parseImageReference, transportNames } from '../../transports/transportRegistry.js';
import { BerthError } from '../../errors/BerthError.js';
import { parseFlags, type Command, type FlagSpec } from '../command.js';
import { policyCopyFlagSpec, copyUnderPolicy } from '../policyCopy.js';
import { registryFlagsUsageOne, transportOptionsFrom } from '../registryFlags.js';
import { qualifiedName } from '../storeNames.js';
import { trustFlagsUsage } from '../trustFlags.js';

const flagSpec: FlagSpec = policyCopyFlagSpec;

export const pushCommand: Command = {
  name: 'push',
  flags: flagSpec,
  usage: `
Usage: berth push [OPTIONS] IMAGE [DESTINATION]

Push an image of the local store (podman push): to its own name's registry, or to DESTINATION (a registry
name, or any berth reference such as oci:DIR:TAG). Prints the manifest digest written.

Options:
  -q, --quiet                 print only the digest
Trust options:${trustFlagsUsage}
Registry options:${registryFlagsUsageOne}
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'push');
    const args = flags._.map(String);
    if (args.length < 1 || args.length > 2) throw new BerthError('USAGE', 'push: expected IMAGE [DESTINATION] (see berth push --help)');
    const options = transportOptionsFrom(flags, '');
    const name = await qualifiedName(args[0]!, options);
    const target = args[1] ?? name;
    // A berth reference (oci:DIR, docker://…) as written; a plain name is a registry's.
    const destination = parseImageReference(transportNames().includes(target.split(':')[0]!) ? target : `docker://${target}`);
    const result = await copyUnderPolicy(parseImageReference(`berth:${name}`), destination, flags, options);
    process.stdout.write(`${result.manifestDigest}\n`);
    return 0;
  },
};
