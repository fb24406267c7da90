import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildRandomLayout } from '../support/ociImage.js';
import { berthAsync, ok } from '../support/runCli.js';
import { dockerRegistryFor } from '../support/dockerRegistry.js';

/** A forward HTTP proxy on loopback (absolute-form requests and CONNECT tunnels) that records what it carried. */
async function forwardProxy(): Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? '');
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: target.pathname + target.search, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connect', (req, socket, head) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const up = connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

test('HTTP_PROXY / HTTPS_PROXY carry registry traffic; NO_PROXY bypasses them', async (t) => {
  const setup = await dockerRegistryFor(t);
  if (!setup) return;
  const { registry, dir } = setup;
  const proxy = await forwardProxy();
  t.after(() => proxy.close());
  await buildRandomLayout(join(dir, 'layout'), 'v1');
  const clean = { ...process.env };
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) clean[name] = undefined;

  await ok(berthAsync(['copy', `oci:${join(dir, 'layout')}:v1`, `docker://${registry.host}/proxied/app:v1`], { env: { ...clean, HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url } }), 'push through the proxy');
  // undici tunnels through the proxy (CONNECT) or sends absolute-form requests; either way the proxy carried it.
  assert.ok(proxy.seen.some((line) => line === `CONNECT ${registry.host}` || line.startsWith(`PUT http://${registry.host}/`)), proxy.seen.join('\n'));

  proxy.seen.length = 0;
  await ok(berthAsync(['inspect', `docker://${registry.host}/proxied/app:v1`], { env: { ...clean, HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } }), 'inspect bypassing the proxy');
  assert.deepEqual(proxy.seen, []);
});
