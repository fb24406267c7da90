import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { text } from 'node:stream/consumers';
import { blobStream, RegistryClient } from '../../registry/client/index.js';
import { isBerthError } from '../../src/errors/BerthError.js';
import type { Digest } from '../../src/oci/digest.js';
import { berthAsync } from '../support/runCli.js';

/** A TCP server on loopback that runs `onConnection` for each socket; closed (sockets destroyed) after the test. */
async function rawServer(t: TestContext, onConnection: (socket: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const address = server.address() as { port: number };
  return `127.0.0.1:${address.port}`;
}

const silent = (t: TestContext) => rawServer(t, () => undefined);

test('a registry that accepts and never answers fails the request with the registry and what timed out', async (t) => {
  const host = await silent(t);
  const client = new RegistryClient(host, { tlsVerify: false, retryTimes: 0, timeouts: { headersMs: 300, connectMs: 300 } });
  const started = Date.now();
  await assert.rejects(client.getManifest('app', 'latest'), (err: unknown) => {
    assert.ok(isBerthError(err, 'TIMEOUT'), String(err));
    assert.match((err as Error).message, new RegExp(`registry ${host}: .*sent no response \\(response-header timeout\\)`));
    return true;
  });
  assert.ok(Date.now() - started < 5000);
});

test('a registry that stops sending half-way through a blob fails it as an idle body', async (t) => {
  const host = await rawServer(t, (socket) => {
    socket.once('data', (request) => {
      if (request.toString().startsWith('GET /v2/ ')) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDocker-Distribution-API-Version: registry/2.0\r\n\r\n{}');
        socket.once('data', () => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(100)}`));
      } else socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(100)}`);
    });
  });
  const client = new RegistryClient(host, { tlsVerify: false, retryTimes: 0, timeouts: { bodyIdleMs: 300 } });
  const digest = `sha256:${'a'.repeat(64)}` as Digest;
  await assert.rejects(text(blobStream(client, 'app', { mediaType: 'application/octet-stream', digest, size: 1000 })), (err: unknown) => {
    assert.match(String((err as Error).message), /stopped sending in the middle of the body \(idle-body timeout\)|idle-body/);
    return true;
  });
});

test('--command-timeout ends a command stuck on a silent registry with one line', async (t) => {
  const host = await silent(t);
  const started = Date.now();
  const r = await berthAsync(['inspect', '--tls-verify=false', '--command-timeout', '1s', `docker://${host}/app:1`]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'berth: the command did not finish within --command-timeout (1 s)\n');
  assert.ok(Date.now() - started < 10_000, 'the deadline held');
});
