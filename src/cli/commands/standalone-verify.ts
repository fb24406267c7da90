import { readFile } from 'node:fs/promises';
import { exportPublicKeys } from '../../sign/simple/gpg.js';
import { standaloneVerify } from '../../sign/simple/standalone.js';
import { flagList, parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';

const flagSpec: FlagSpec = { string: ['public-key'] };

export const standaloneVerifyCommand: Command = {
  name: 'standalone-verify',
  flags: flagSpec,
  usage: `
Usage: berth standalone-verify [--public-key FILE]... MANIFEST DOCKER-REFERENCE [KEY-FINGERPRINTS] SIGNATURE

Check that SIGNATURE is a good OpenPGP signature by one of the trusted keys
over a payload naming the digest of MANIFEST and exactly DOCKER-REFERENCE.
Trusted keys are the comma-separated KEY-FINGERPRINTS taken from the default
GnuPG keyring (as skopeo does), or the --public-key files.

Options:
      --public-key FILE   trusted OpenPGP public key file (repeatable; replaces KEY-FINGERPRINTS)
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'standalone-verify');
    const args = flags._.map(String);
    const keyFiles = flagList(flags['public-key']);
    requireArgs(args, keyFiles.length > 0 ? 3 : 4, 'standalone-verify', keyFiles.length > 0 ? 'MANIFEST DOCKER-REFERENCE SIGNATURE' : 'MANIFEST DOCKER-REFERENCE KEY-FINGERPRINTS SIGNATURE');
    const [manifestFile, reference] = args as [string, string];
    const signatureFile = args[args.length - 1] as string;
    const trusted = keyFiles.length > 0 ? await Promise.all(keyFiles.map((f) => readFile(f))) : [await exportPublicKeys((args[2] as string).split(',').filter(Boolean))];
    const { payload, fingerprint } = await standaloneVerify(await readFile(manifestFile), reference, await readFile(signatureFile), trusted);
    process.stdout.write(`Signature verified using fingerprint ${fingerprint}, digest ${payload.critical.image['docker-manifest-digest']}\n`);
    return 0;
  },
};
