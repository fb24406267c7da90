import { readFile, writeFile } from 'node:fs/promises';
import { BerthError } from '../../errors/BerthError.js';
import { withSecretKeyFile } from '../../sign/simple/gpg.js';
import { standaloneSign } from '../../sign/simple/standalone.js';
import { parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';

const flagSpec: FlagSpec = { string: ['output', 'gpg-key', 'passphrase-file'], alias: { o: 'output' } };

export const standaloneSignCommand: Command = {
  name: 'standalone-sign',
  flags: flagSpec,
  usage: `
Usage: berth standalone-sign [--gpg-key FILE] [--passphrase-file FILE] -o SIGNATURE MANIFEST DOCKER-REFERENCE [KEY-FINGERPRINT]

Write a containers simple signature (OpenPGP signed message) binding the
digest of MANIFEST to DOCKER-REFERENCE, as skopeo standalone-sign does.
Signs with KEY-FINGERPRINT from the default GnuPG keyring, or with the
secret key in --gpg-key FILE.

Options:
  -o, --output FILE           where to write the signature (required)
      --gpg-key FILE          OpenPGP secret key file (instead of KEY-FINGERPRINT)
      --passphrase-file FILE  passphrase of the OpenPGP key
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'standalone-sign');
    const args = flags._.map(String);
    const keyFile = flags['gpg-key'] as string | undefined;
    requireArgs(args, keyFile ? 2 : 3, 'standalone-sign', keyFile ? 'MANIFEST DOCKER-REFERENCE' : 'MANIFEST DOCKER-REFERENCE KEY-FINGERPRINT');
    const output = flags.output as string | undefined;
    if (!output) throw new BerthError('USAGE', 'standalone-sign: --output is required');
    const manifest = await readFile(args[0] as string);
    const passphrase = flags['passphrase-file'] ? { passphraseFile: String(flags['passphrase-file']) } : {};
    const signature = keyFile
      ? await withSecretKeyFile(keyFile, (home, fingerprint) => standaloneSign(manifest, args[1] as string, { keyId: fingerprint, home, ...passphrase }))
      : await standaloneSign(manifest, args[1] as string, { keyId: args[2] as string, ...passphrase });
    await writeFile(output, signature);
    return 0;
  },
};
