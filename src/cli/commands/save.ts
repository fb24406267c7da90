import { copyImage } from '../../copy/copyImage.js';
import { BerthError } from '../../errors/BerthError.js';
import '../../transports/allTransports.js';
import { parseImageReference } from '../../transports/transportRegistry.js';
import { parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';
import { qualifiedName } from '../storeNames.js';

const flagSpec: FlagSpec = { string: ['output'], alias: { o: 'output' } };

export const saveCommand: Command = {
  name: 'save',
  flags: flagSpec,
  usage: `
Usage: berth save -o FILE IMAGE

Write an image of the local store to a docker-archive tarball (podman save, docker save), named in it, so that
\`berth load\`, \`podman load\` and \`docker load\` read it back under that name.

Options:
  -o, --output FILE   the archive to write (written to a temp file and renamed)
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'save');
    const args = flags._.map(String);
    requireArgs(args, 1, 'save', 'IMAGE');
    if (!flags.output) throw new BerthError('USAGE', 'save: -o FILE is required (an archive is not written to a terminal)');
    const name = await qualifiedName(args[0]!, {});
    await copyImage(parseImageReference(`berth:${name}`), parseImageReference(`docker-archive:${String(flags.output)}:${name}`));
    return 0;
  },
};
