import type { TestContext } from 'node:test';
import { peer, tempDir } from '../../support/peers.js';
import { startDockerRegistry, type RunningRegistry } from './dockerRegistry.js';

/** A docker-registry for one test file, stopped (by its PID) when the file's tests end. */
export async function registryFor(t: TestContext, options: { htpasswdFile?: string } = {}): Promise<{ registry: RunningRegistry; dir: string } | undefined> {
  const binary = peer(t, 'docker-registry');
  if (!binary) return undefined;
  const dir = tempDir(t, 'berth-registry-');
  const registry = await startDockerRegistry(binary, dir, options);
  t.after(() => registry.stop());
  return { registry, dir };
}
