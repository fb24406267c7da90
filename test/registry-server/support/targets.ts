import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRegistryServer, type RegistryServerOptions } from '../../../registry/server/index.js';

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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export async function startBerth(root: string, options: Partial<RegistryServerOptions> = {}): Promise<RegistryTarget> {
  const registry = await startRegistryServer({ addr: '127.0.0.1:0', root, ...options });
  return { kind: 'berth', url: registry.url, host: registry.host, root, close: () => registry.close() };
}

async function waitForV2(url: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before answering`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${what} did not answer ${url}/v2/ within 15 s`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** docker-registry (CNCF distribution) with filesystem storage under `root`, deletes enabled, on a free loopback port. */
export async function startDockerRegistry(binary: string, root: string): Promise<RegistryTarget> {
  const port = await freePort();
  mkdirSync(root, { recursive: true });
  const config = join(root, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(root, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child = spawn(binary, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.resume();
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForV2(url, child, 'docker-registry');
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { kind: 'docker-registry', url, host: `127.0.0.1:${port}`, root, pid: child.pid, close: () => stopChild(child) };
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
    await stopChild(child);
    throw err;
  }
  return { kind: 'berth', url, host: `127.0.0.1:${chosen}`, root, pid: child.pid, child, close: () => stopChild(child) };
}
