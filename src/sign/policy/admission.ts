import { existsSync } from 'node:fs';
import type { RegistryOptions } from '../../../registry/client/index.js';
import type { CopyOptions } from '../../copy/copyImage.js';
import { defaultPolicyPath } from './policy.js';

export interface AdmissionOptions {
  /** A containers-policy.json to enforce; without it, the default one when it exists. */
  policyPath?: string;
  /** Enforce nothing (skopeo --insecure-policy). */
  insecure?: boolean;
  registriesDir?: string;
  /** Registry settings for reading the source's signatures. */
  registry?: RegistryOptions;
}

/**
 * The copy pipeline's `admit` hook for containers-policy.json, or undefined when
 * no policy is in force. A policy is in force when named, or when the default
 * file exists, as in containers tools: every command that brings an image in
 * (copy, sync, run's pull, builds' base images) asks here.
 */
export function policyAdmission(options: AdmissionOptions = {}): CopyOptions['admit'] {
  if (options.insecure) return undefined;
  const policyPath = options.policyPath ?? (existsSync(defaultPolicyPath()) ? defaultPolicyPath() : undefined);
  if (policyPath === undefined) return undefined;
  return async ({ source, manifestDigest }) => {
    // The evaluator (keys, registries.d YAML, the registry client) loads only when a policy is in force.
    const { enforcePolicy } = await import('./evaluatePolicy.js');
    await enforcePolicy(source, manifestDigest, {
      policyPath,
      ...(options.registriesDir !== undefined ? { registriesDir: options.registriesDir } : {}),
      ...(options.registry ? { registry: options.registry } : {}),
    });
  };
}
