import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';

export interface RunningRegistry {
  /** `127.0.0.1:PORT`, as used in docker:// references. */
  host: string;
  port: number;
  root: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Start Debian's docker-registry (CNCF distribution 2.8) on 127.0.0.1 with
 * its own storage under `dir`, deletes enabled, optionally htpasswd Basic auth.
 */
export async function startDockerRegistry(binary: string, dir: string, options: { htpasswdFile?: string } = {}): Promise<RunningRegistry> {
  const root = join(dir, 'storage');
  mkdirSync(root, { recursive: true });
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const auth = options.htpasswdFile ? `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${options.htpasswdFile}\n` : '';
    const config = `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${root}\n  delete:\n    enabled: true\n  cache:\n    blobdescriptor: inmemory\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`;
    const configPath = join(dir, `registry-${port}.yml`);
    writeFileSync(configPath, config);
    const child = spawn(binary, ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
    };
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        const res = await request(`http://127.0.0.1:${port}/v2/`);
        await res.body.dump();
        if (res.statusCode === 200 || res.statusCode === 401) return { host: `127.0.0.1:${port}`, port, root, process: child, stop };
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await stop();
    if (tries >= 2) throw new Error(`docker-registry did not start: ${stderr.trim()}`);
  }
}
