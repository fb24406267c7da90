import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { peer, tempDir } from './peers.js';
import { freePort, stopProcess, waitForV2 } from './serverProcess.js';

export interface DockerRegistry {
  /** `127.0.0.1:PORT`, as docker:// references write it. */
  host: string;
  port: number;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** The filesystem storage directory. */
  root: string;
  pid: number;
  /** Stop the process by its PID and wait for it to exit. */
  stop(): Promise<void>;
}

export interface DockerRegistryOptions {
  /** htpasswd file: the registry then wants Basic auth. */
  htpasswdFile?: string;
}

function configFor(port: number, root: string, options: DockerRegistryOptions): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${root}`,
    '  delete:',
    '    enabled: true',
    '  cache:',
    '    blobdescriptor: inmemory',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (options.htpasswdFile) lines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${options.htpasswdFile}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Start Debian's docker-registry (CNCF distribution 2.8) on 127.0.0.1 and a
 * free port, its config and storage under `dir`, deletes enabled, optionally
 * htpasswd Basic auth. A port taken between choosing and binding is retried.
 */
export async function startDockerRegistry(binary: string, dir: string, options: DockerRegistryOptions = {}): Promise<DockerRegistry> {
  const root = join(dir, 'storage');
  mkdirSync(root, { recursive: true });
  for (let tries = 1; ; tries++) {
    const port = await freePort();
    const configPath = join(dir, `registry-${port}.yml`);
    writeFileSync(configPath, configFor(port, root, options));
    const child = spawn(binary, ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForV2(url, child, 'docker-registry');
      return { host: `127.0.0.1:${port}`, port, url, root, pid: child.pid!, stop: () => stopProcess(child) };
    } catch (err) {
      await stopProcess(child);
      if (tries >= 3) throw new Error(`${(err as Error).message}: ${stderr.trim()}`);
    }
  }
}

/**
 * A docker-registry for one test, stopped (by its PID) when the test ends; its
 * temp dir is returned for the test's own files. Undefined when the peer is
 * missing (the test is then skipped).
 */
export async function dockerRegistryFor(t: TestContext, options: DockerRegistryOptions = {}): Promise<{ registry: DockerRegistry; dir: string } | undefined> {
  const binary = peer(t, 'docker-registry');
  if (!binary) return undefined;
  const dir = tempDir(t, 'berth-registry-');
  const registry = await startDockerRegistry(binary, dir, options);
  t.after(() => registry.stop());
  return { registry, dir };
}
