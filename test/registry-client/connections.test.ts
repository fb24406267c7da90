import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { FaultProxy } from '../fault-proxy/faultProxy.js';
import { startRegistryServer } from '../../registry/server/index.js';
import { tempDir } from '../support/peers.js';
import { buildRandomLayout } from '../support/ociImage.js';
import { berthAsync, ok } from '../support/runCli.js';

// On a real registry each connection costs a TCP and a TLS handshake: two round trips before the first byte.
test('inspect asks a registry everything over one keep-alive connection', async (t) => {
  const dir = tempDir(t);
  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'root') });
  t.after(() => server.close());
  await buildRandomLayout(join(dir, 'layout'), 'v1');
  await ok(berthAsync(['copy', `oci:${join(dir, 'layout')}:v1`, `docker://127.0.0.1:${server.port}/app:v1`]), 'push');
  const proxy = await new FaultProxy({ host: '127.0.0.1', port: server.port }).start();
  t.after(() => proxy.stop());

  await ok(berthAsync(['inspect', `docker://${proxy.host}/app:v1`]), 'inspect');
  // The ping, the manifest, the config and the tag list, one after another.
  assert.deepEqual(proxy.log.map((l) => l.method), ['GET', 'GET', 'GET', 'GET'], JSON.stringify(proxy.log));
  assert.equal(proxy.connections, 1);
});
