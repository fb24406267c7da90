import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { peer, tempDir } from '../../support/peers.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Debian's docker-registry (CNCF distribution 2.8) on 127.0.0.1 and a free
 * port, storage in a temp dir, stopped by PID when the test ends. Returns
 * host:port, or undefined when the peer is missing (the test is then skipped).
 */
export async function startDockerRegistry(t: TestContext): Promise<string | undefined> {
  const bin = peer(t, 'docker-registry');
  if (!bin) return undefined;
  const dir = tempDir(t, 'berth-sign-registry-');
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      `  filesystem:`,
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child = spawn(bin, ['serve', config], { stdio: 'ignore' });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const response = await fetch(`http://${host}/v2/`);
      if (response.ok) return host;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not start on ${host}`);
}
