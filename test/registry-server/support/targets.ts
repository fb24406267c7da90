import { spawn, type ChildProcess } from 'node:child_process';
import { startRegistryServer, type RegistryServerOptions } from '../../../registry/server/index.js';
import { startDockerRegistry } from '../../support/dockerRegistry.js';
import { freePort, stopProcess, waitForV2 } from '../../support/serverProcess.js';

/** A running registry under test: berth's (in-process or as a CLI process) or docker-registry. */
export interface RegistryTarget {
  kind: 'berth' | 'docker-registry';
  url: string;
  /** host:port as image references write it. */
  host: string;
  root: string;
  pid?: number;
  close(): Promise<void>;
}

export async function startBerth(root: string, options: Partial<RegistryServerOptions> = {}): Promise<RegistryTarget> {
  const registry = await startRegistryServer({ addr: '127.0.0.1:0', root, ...options });
  return { kind: 'berth', url: registry.url, host: registry.host, root, close: () => registry.close() };
}

/** docker-registry (CNCF distribution) with its config and storage under `root`, deletes enabled, on a free loopback port. */
export async function startDockerRegistryTarget(binary: string, root: string): Promise<RegistryTarget> {
  const registry = await startDockerRegistry(binary, root);
  return { kind: 'docker-registry', url: registry.url, host: registry.host, root, pid: registry.pid, close: () => registry.stop() };
}

/** berth's server as its own `berth registry serve` process (for kill -9 and RSS measurements). */
export async function startBerthProcess(berthBin: string, root: string, extraArgs: string[] = [], port?: number): Promise<RegistryTarget & { child: ChildProcess }> {
  const chosen = port ?? (await freePort());
  const child = spawn(process.execPath, [berthBin, 'registry', 'serve', '--addr', `127.0.0.1:${chosen}`, '--root', root, '--quiet', ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.resume();
  const url = `http://127.0.0.1:${chosen}`;
  try {
    await waitForV2(url, child, 'berth registry serve');
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
  return { kind: 'berth', url, host: `127.0.0.1:${chosen}`, root, pid: child.pid, child, close: () => stopProcess(child) };
}
