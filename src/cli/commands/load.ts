import { copyImage } from '../../copy/copyImage.js';
import { BerthError } from '../../errors/BerthError.js';
import '../../transports/allTransports.js';
import { parseImageReference } from '../../transports/transportRegistry.js';
import { parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';

const flagSpec: FlagSpec = { string: ['input'], alias: { i: 'input' } };

export const loadCommand: Command = {
  name: 'load',
  flags: flagSpec,
  usage: `
Usage: berth load -i FILE

Read an image from a docker-archive tarball (podman load, docker load) into the local store, under the name the
archive gives it. Prints that name.

Options:
  -i, --input FILE    the archive to read
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'load');
    requireArgs(flags._.map(String), 0, 'load', 'no arguments besides -i FILE');
    if (!flags.input) throw new BerthError('USAGE', 'load: -i FILE is required');
    const source = parseImageReference(`docker-archive:${String(flags.input)}`);
    const opened = await source.newSource();
    const name = opened.reference.dockerReference ?? opened.dockerReference;
    await opened.close();
    if (!name) throw new BerthError('USAGE', `load: ${String(flags.input)} names no image; use berth copy docker-archive:FILE berth:NAME`);
    await copyImage(source, parseImageReference(`berth:${name}`));
    process.stdout.write(`Loaded image: ${name}\n`);
    return 0;
  },
};
