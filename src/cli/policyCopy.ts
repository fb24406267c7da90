import type minimist from 'minimist';
import { copyImage, type CopyResult } from '../copy/copyImage.js';
import type { ImageReference, TransportOptions } from '../transports/types.js';
import type { FlagSpec } from './command.js';
import { progressDisplay } from './progressDisplay.js';
import { blobRetriesFrom, mergeFlagSpecs, registryFlagSpec } from './registryFlags.js';
import { trustFlagSpec, trustHooksFrom } from './trustFlags.js';

/** The flags of pull and push: -q, the registry flags of one side, and the trust flags. */
export const policyCopyFlagSpec: FlagSpec = mergeFlagSpecs({ boolean: ['quiet'], alias: { q: 'quiet' } }, registryFlagSpec('one'), trustFlagSpec);

/** One copy under the trust policy, with progress on a terminal unless --quiet: what pull and push do. */
export async function copyUnderPolicy(from: ImageReference, to: ImageReference, flags: minimist.ParsedArgs, options: TransportOptions): Promise<CopyResult> {
  return copyImage(from, to, {
    ...(await trustHooksFrom(flags, options, to)),
    sourceOptions: options,
    destinationOptions: options,
    blobRetries: blobRetriesFrom(options),
    onProgress: flags.quiet ? undefined : progressDisplay(process.stderr),
  });
}
