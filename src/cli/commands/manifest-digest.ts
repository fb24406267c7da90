import { readFile } from 'node:fs/promises';
import { BerthError } from '../../errors/BerthError.js';
import { digestOf } from '../../oci/digest.js';
import { MAX_MANIFEST_BYTES, parseManifest } from '../../oci/manifest.js';
import { parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';

const flagSpec: FlagSpec = {};

export const manifestDigestCommand: Command = {
  name: 'manifest-digest',
  flags: flagSpec,
  usage: `
Usage: berth manifest-digest MANIFEST-FILE

Print the sha256 digest of the manifest's bytes, as a registry would name it.
The file must be a valid OCI or Docker schema 2 manifest or index.
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'manifest-digest');
    const args = flags._.map(String);
    requireArgs(args, 1, 'manifest-digest', 'MANIFEST-FILE');
    const bytes = await readFile(args[0]!);
    if (bytes.length > MAX_MANIFEST_BYTES) throw new BerthError('MANIFEST_INVALID', `${args[0]}: larger than ${MAX_MANIFEST_BYTES} bytes`);
    try {
      parseManifest(bytes);
    } catch (err) {
      if (err instanceof BerthError) throw new BerthError(err.code, `${args[0]}: ${err.message}`);
      throw err;
    }
    process.stdout.write(`${digestOf(bytes)}\n`);
    return 0;
  },
};
