import { spawnSync } from 'node:child_process';
import type { HookPhase, Spec } from '../../oci/runtimeSpec.js';
import type { PublicState } from '../state/stateStore.js';

/**
 * Run the hooks of one phase with the container state on stdin, in order.
 * Returns the first failure message (callers decide: fatal before start, a warning after).
 */
export function runHooks(spec: Spec, phase: HookPhase, state: PublicState): string | undefined {
  for (const hook of spec.hooks?.[phase] ?? []) {
    const args = hook.args?.length ? hook.args : [hook.path];
    const result = spawnSync(hook.path, args.slice(1), {
      argv0: args[0],
      env: Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
      input: JSON.stringify(state),
      timeout: hook.timeout ? hook.timeout * 1000 : undefined,
      stdio: ['pipe', 'inherit', 'inherit'],
    });
    // A hook need not read the state: its stdin closing early (EPIPE) is not a failure.
    if (result.error && (result.error as NodeJS.ErrnoException).code !== 'EPIPE') return `${phase} hook ${hook.path}: ${(result.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? 'timed out' : result.error.message}`;
    if (result.status !== 0) return `${phase} hook ${hook.path} exited with ${result.status ?? `signal ${result.signal}`}`;
  }
  return undefined;
}
