import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { BerthError } from '../../errors/BerthError.js';
import { generateCosignKeyPair } from '../../sign/keys/keys.js';
import { obtainPassphrase } from '../../sign/keys/passphrase.js';
import { parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';

const flagSpec: FlagSpec = { string: ['output-prefix', 'passphrase-file'], boolean: ['quiet'], alias: { q: 'quiet' } };

export const generateKeyCommand: Command = {
  name: 'generate-key',
  flags: flagSpec,
  usage: `
Usage: berth generate-key [--output-prefix PREFIX] [--passphrase-file FILE]

Write PREFIX.key (ECDSA P-256, PKCS#8 encrypted with scrypt + NaCl secretbox,
PEM "ENCRYPTED SIGSTORE PRIVATE KEY", the format cosign writes and reads) and
PREFIX.pub (PEM public key). Existing files are never overwritten.

The passphrase comes from --passphrase-file, else $COSIGN_PASSWORD or
$BERTH_PASSWORD (may be empty), else a prompt on the terminal.

Options:
      --output-prefix PREFIX  file name prefix (default "cosign")
      --passphrase-file FILE  read the passphrase from the first line of FILE
  -q, --quiet                 print nothing on success
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'generate-key');
    requireArgs(flags._.map(String), 0, 'generate-key', 'no arguments');
    const prefix = (flags['output-prefix'] as string | undefined) ?? 'cosign';
    if (prefix === '') throw new BerthError('USAGE', 'generate-key: --output-prefix must not be empty');
    for (const path of [`${prefix}.key`, `${prefix}.pub`]) {
      if (existsSync(path)) throw new BerthError('ALREADY_EXISTS', `${path} already exists; refusing to overwrite a key`);
    }
    const passphrase = await obtainPassphrase(`${prefix}.key`, { passphraseFile: flags['passphrase-file'] as string | undefined }, true);
    const pair = generateCosignKeyPair(passphrase);
    await writeNew(`${prefix}.key`, pair.privateKeyPem, 0o600);
    await writeNew(`${prefix}.pub`, pair.publicKeyPem, 0o644);
    if (!flags.quiet) process.stderr.write(`Private key written to ${prefix}.key\nPublic key written to ${prefix}.pub\n`);
    return 0;
  },
};

async function writeNew(path: string, text: string, mode: number): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new BerthError('ALREADY_EXISTS', `${path} already exists; refusing to overwrite a key`);
    throw err;
  }
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}
