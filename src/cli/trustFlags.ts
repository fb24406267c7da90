import type { CopyOptions } from '../copy/copyImage.js';
import { BerthError } from '../errors/BerthError.js';
import { carrySignatures, carrySignaturesBeforeCommit, signaturesHaveAPlace } from '../sign/carrySignatures.js';
import { COPY_SIGNATURE_FLAGS, COPY_SIGNATURE_USAGE, copySignatureOptionsFromFlags } from './copySignatureFlags.js';
import { policyAdmission } from '../sign/policy/admission.js';
import { registriesDirFlag } from './signingFlags.js';
import { STORE_TRANSPORT } from '../transports/store/storeTransport.js';
import type { ImageReference, TransportOptions } from '../transports/types.js';
import type { FlagSpec } from './command.js';

/** Trust flags of the commands that move images (copy, sync): policy on the way in, signatures carried or made. */
export const trustFlagSpec: FlagSpec = {
  string: ['policy', ...COPY_SIGNATURE_FLAGS.string],
  boolean: ['insecure-policy', ...COPY_SIGNATURE_FLAGS.boolean],
};

export const trustFlagsUsage = `
      --policy FILE            containers-policy.json to enforce (default: ~/.config/containers/policy.json or
                               /etc/containers/policy.json, when one exists)
      --insecure-policy        do not enforce any policy${COPY_SIGNATURE_USAGE}`;

/**
 * The copy pipeline hooks for these flags: `admit` enforces the policy before
 * anything is written, `afterCommit` carries (and optionally adds) signatures.
 * A policy is in force when named or when the default file exists, as in
 * containers tools; without one, images are admitted.
 *
 * The local store keeps images, not signatures: what enters it was admitted
 * by the policy on the way in, so a pull into it does not fail for lack of a
 * place to put the source's signatures (other destinations that cannot hold
 * them refuse, as skopeo does, until --remove-signatures is given).
 */
export async function trustHooksFrom(flags: Record<string, unknown>, sourceOptions: TransportOptions | undefined, destination?: ImageReference): Promise<Pick<CopyOptions, 'admit' | 'beforeCommit' | 'afterCommit'>> {
  const insecure = flags['insecure-policy'] === true;
  const named = typeof flags.policy === 'string' ? flags.policy : undefined;
  if (insecure && named) throw new BerthError('USAGE', '--policy and --insecure-policy cannot be used together');
  const registriesDir = registriesDirFlag(flags);
  const signatures = await copySignatureOptionsFromFlags(flags);
  if (destination?.transport.name === STORE_TRANSPORT) signatures.carryExisting = false;
  const fits = signaturesHaveAPlace(signatures);
  const policy = policyAdmission({
    insecure,
    ...(named !== undefined ? { policyPath: named } : {}),
    ...(registriesDir !== undefined ? { registriesDir } : {}),
    ...(sourceOptions?.registry ? { registry: sourceOptions.registry } : {}),
  });
  // The policy first (an image it rejects is not looked at further), then whether its signatures have a place.
  const admit: NonNullable<CopyOptions['admit']> = async (image) => {
    await policy?.(image);
    await fits(image);
  };
  return { admit, beforeCommit: carrySignaturesBeforeCommit(signatures), afterCommit: carrySignatures(signatures) };
}
