import { BerthError } from '../errors/BerthError.js';
import { formatDockerReference, parseDockerReference, repositoryName, type DockerReference } from '../reference/dockerReference.js';

/**
 * How a signature's claimed docker-reference must relate to the image being
 * verified. The names are containers-policy.json's signedIdentity types, so the
 * CLI's --check-identity and policy files share one implementation.
 */
export type IdentityRule =
  | { type: 'matchExact' }
  | { type: 'matchRepoDigestOrExact' }
  | { type: 'matchRepository' }
  | { type: 'exactReference'; dockerReference: string }
  | { type: 'exactRepository'; dockerRepository: string }
  | { type: 'remapIdentity'; prefix: string; signedPrefix: string }
  | { type: 'digestOnly' };

function parseClaim(claimed: string): DockerReference | undefined {
  try {
    return parseDockerReference(claimed);
  } catch {
    return undefined;
  }
}

/**
 * Does the signed identity satisfy the rule for `image` (the reference the
 * image was reached by, if it has one)? Returns the reason when it does not.
 */
export function checkIdentity(rule: IdentityRule, claimed: string, image: DockerReference | undefined): string | undefined {
  if (rule.type === 'digestOnly') return undefined;
  const signed = parseClaim(claimed);
  if (!signed) return `signed identity "${claimed}" is not a valid docker reference`;
  const signedText = formatDockerReference(signed);
  switch (rule.type) {
    case 'exactReference': {
      const want = parseDockerReference(rule.dockerReference);
      return signedText === formatDockerReference(want) ? undefined : `signed identity ${signedText} is not ${formatDockerReference(want)}`;
    }
    case 'exactRepository': {
      const want = parseDockerReference(rule.dockerRepository);
      return repositoryName(signed) === repositoryName(want) ? undefined : `signed identity ${signedText} is not in repository ${repositoryName(want)}`;
    }
    case 'remapIdentity': {
      if (!image) return 'the image has no docker reference to match the signature against';
      const mapped = remap(image, rule.prefix, rule.signedPrefix);
      return checkIdentity({ type: 'matchRepoDigestOrExact' }, claimed, mapped);
    }
    default:
      break;
  }
  if (!image) return 'the image has no docker reference to match the signature against (give one with --identity)';
  const imageRepo = repositoryName(image);
  if (rule.type === 'matchRepository') {
    return repositoryName(signed) === imageRepo ? undefined : `signed for repository ${repositoryName(signed)}, not ${imageRepo}`;
  }
  const digestOnly = image.tag === undefined && image.digest !== undefined;
  if (rule.type === 'matchRepoDigestOrExact' && digestOnly) {
    return repositoryName(signed) === imageRepo ? undefined : `signed for repository ${repositoryName(signed)}, not ${imageRepo}`;
  }
  const imageText = formatDockerReference({ domain: image.domain, path: image.path, ...(image.tag !== undefined ? { tag: image.tag } : {}) });
  const signedNoDigest = formatDockerReference({ domain: signed.domain, path: signed.path, ...(signed.tag !== undefined ? { tag: signed.tag } : {}) });
  if (image.tag === undefined) return `the image reference ${formatDockerReference(image)} has no tag to match exactly`;
  return signedNoDigest === imageText ? undefined : `signed identity ${signedText} is not ${imageText}`;
}

/** containers' remapIdentity: an image under `prefix` is treated as if it were under `signedPrefix`. */
function remap(image: DockerReference, prefix: string, signedPrefix: string): DockerReference {
  const full = formatDockerReference(image);
  if (!(full === prefix || full.startsWith(`${prefix}/`) || full.startsWith(`${prefix}:`) || full.startsWith(`${prefix}@`))) return image;
  const rewritten = signedPrefix + full.slice(prefix.length);
  try {
    return parseDockerReference(rewritten);
  } catch {
    throw new BerthError('POLICY_DENIED', `remapIdentity produced an invalid reference "${rewritten}"`);
  }
}

/** --check-identity as the CLI spells it. */
export function identityRuleFromFlag(mode: string, identity: string | undefined): IdentityRule {
  switch (mode) {
    case 'exact':
      return identity ? { type: 'exactReference', dockerReference: identity } : { type: 'matchExact' };
    case 'repository':
      return identity ? { type: 'exactRepository', dockerRepository: identity } : { type: 'matchRepository' };
    case 'digest':
    case 'none':
      return { type: 'digestOnly' };
    default:
      throw new BerthError('USAGE', `--check-identity must be exact, repository or none, not "${mode}"`);
  }
}
