import type minimist from 'minimist';
import { BerthError } from '../errors/BerthError.js';
import type { PullPolicy } from '../run/runImage.js';

export const pullPolicyUsage = `
      --pull[=POLICY]       when a base named in the local store is pulled: missing (default), always (also a bare
                            --pull; newer is taken as always), never (the store only)`;

/** podman's and buildah's --pull: always|missing|never|newer, a bare --pull meaning always. */
export function pullPolicyFrom(flags: minimist.ParsedArgs, command: string): PullPolicy | undefined {
  const value = flags.pull as string | undefined;
  if (value === undefined) return undefined;
  if (value === '' || value === 'always' || value === 'newer' || value === 'true') return 'always';
  if (value === 'missing') return 'missing';
  if (value === 'never' || value === 'false') return 'never';
  throw new BerthError('USAGE', `${command}: --pull takes always, missing, never or newer, not "${value}"`);
}
