import type minimist from 'minimist';
import { writeFileSync } from 'node:fs';
import { BerthError } from '../errors/BerthError.js';
import type { FlagSpec } from './command.js';
import type { DestinationHooks } from '../copy/copyToTags.js';
import { carrySignatures, carrySignaturesBeforeCommit, signaturesHaveAPlace } from '../sign/carrySignatures.js';
import { STORE_TRANSPORT } from '../transports/store/storeTransport.js';
import type { ImageReference } from '../transports/types.js';
import { copySignatureOptionsFromFlags } from './copySignatureFlags.js';

/** The output flags both builders take (buildah's names): where the image goes and what is written about it. */
export const buildOutputFlagSpec: FlagSpec = {
  string: ['tag', 'label', 'iidfile', 'digestfile', 'sign-by-key', 'sign-passphrase-file', 'sign-identity', 'sign-referrers-mode'],
  boolean: ['quiet'],
  alias: { t: 'tag', q: 'quiet' },
};

export const buildOutputUsage = `
  -t, --tag IMAGE           where the image goes (repeatable): a berth reference, or a bare name for the local store
      --label K=V           add a label to the image (repeatable)
      --iidfile FILE        write the image ID (config digest) to FILE
      --digestfile FILE     write the manifest digest of the first -t to FILE
  -q, --quiet               print only the image ID
      --sign-by-key FILE    sign the image at each -t with this cosign/PKCS#8 key (not in the local store, which
                            keeps images, not signatures); --sign-passphrase-file, --sign-identity and
                            --sign-referrers-mode as berth copy takes them`;

/** K=V items of a repeatable flag (--label, --env-style). */
export function keyValues(items: string[], flag: string, command: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new BerthError('USAGE', `${command}: ${flag} must be KEY=VALUE, got "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** The pinned build time: the flag's value, else $SOURCE_DATE_EPOCH, in whole seconds since 1970. */
export function buildTimestamp(flagValue: string | undefined, command: string): Date | undefined {
  const text = flagValue ?? process.env.SOURCE_DATE_EPOCH;
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 0) throw new BerthError('USAGE', `${command}: the timestamp must be whole seconds since 1970, got "${text}"`);
  return new Date(seconds * 1000);
}

/** --iidfile and --digestfile, then the image ID on stdout (as buildah prints it). */
export function writeBuildOutputs(flags: minimist.ParsedArgs, result: { imageId: string; destinations: { manifestDigest: string }[] }, command: string): void {
  if (flags.iidfile) writeFileSync(String(flags.iidfile), result.imageId);
  if (flags.digestfile) {
    const first = result.destinations[0];
    if (!first) throw new BerthError('USAGE', `${command}: --digestfile needs a -t destination`);
    writeFileSync(String(flags.digestfile), first.manifestDigest);
  }
  process.stdout.write(`${result.imageId}\n`);
}

/**
 * --sign-by-key for a build's -t destinations, as copy signs: a cosign signature made at each destination after it
 * is written; one that cannot hold it (docker-archive) is refused before any destination is written. The local
 * store keeps images, not signatures, so a bare name is copied unsigned.
 */
export async function signingHooksFrom(flags: minimist.ParsedArgs): Promise<((destination: ImageReference) => DestinationHooks) | undefined> {
  if (typeof flags['sign-by-key'] !== 'string') return undefined;
  const signatures = { ...(await copySignatureOptionsFromFlags(flags)), carryExisting: false };
  const hooks: DestinationHooks = { admit: signaturesHaveAPlace(signatures), beforeCommit: carrySignaturesBeforeCommit(signatures), afterCommit: carrySignatures(signatures) };
  return (destination) => (destination.transport.name === STORE_TRANSPORT ? {} : hooks);
}
