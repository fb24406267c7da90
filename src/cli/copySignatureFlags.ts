import type { FlagSpec } from './command.js';
import { BerthError } from '../errors/BerthError.js';
import type { CopySignaturesOptions } from '../sign/copySignatures.js';
import { registriesDirFlag } from './signingFlags.js';

/** The signature flags copy and sync accept (merge into their FlagSpec). */
export const COPY_SIGNATURE_FLAGS: Required<Pick<FlagSpec, 'string' | 'boolean'>> = {
  string: ['sign-by-key', 'sign-passphrase-file', 'sign-identity', 'sign-referrers-mode', 'registries.d'],
  boolean: ['remove-signatures'],
};

export const COPY_SIGNATURE_USAGE = `
      --remove-signatures      do not carry the source's signatures to the destination
      --sign-by-key FILE       sign the copied image(s) at the destination with this cosign/PKCS#8 key
      --sign-passphrase-file FILE  passphrase for --sign-by-key
      --sign-identity REF      identity to sign as (default: the destination reference)
      --sign-referrers-mode legacy|oci-1-1  how --sign-by-key stores its signature (default legacy)
      --registries.d DIR       registries.d directory (lookaside storage for OpenPGP signatures)`;

/** Turn copy/sync flags into the options of carrySignatures (always returned: carrying is the default). */
export async function copySignatureOptionsFromFlags(flags: Record<string, unknown>): Promise<CopySignaturesOptions> {
  const options: CopySignaturesOptions = { carryExisting: flags['remove-signatures'] !== true };
  const dir = registriesDirFlag(flags);
  if (dir !== undefined) options.registriesD = (await import('../sign/policy/registriesD.js')).loadRegistriesD(dir);
  const keyFile = flags['sign-by-key'];
  if (typeof keyFile === 'string') {
    const mode = (flags['sign-referrers-mode'] as string | undefined) ?? 'legacy';
    if (mode !== 'legacy' && mode !== 'oci-1-1') throw new BerthError('USAGE', `--sign-referrers-mode must be legacy or oci-1-1, not "${mode}"`);
    const { loadPrivateKeyFile } = await import('../sign/keys/keys.js');
    const key = await loadPrivateKeyFile(keyFile, { passphraseFile: flags['sign-passphrase-file'] as string | undefined });
    options.signBy = { key, mode, ...(typeof flags['sign-identity'] === 'string' ? { identity: flags['sign-identity'] } : {}) };
  }
  return options;
}
