import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { berthBin, tempDir } from '../support/peers.js';
import { sha256 } from './support/conformance.js';
import { startBerthProcess } from './support/targets.js';

const run = promisify(execFile);

async function berthFails(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [berthBin, ...args], { timeout: 10_000 });
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  assert.fail(`berth ${args.join(' ')} should have failed`);
}

test('SIGTERM lets an in-flight upload finish, then the server exits 0', async (t) => {
  const work = tempDir(t);
  const server = await startBerthProcess(berthBin, join(work, 'root'));
  t.after(() => server.close());
  const data = randomBytes(1 << 20);
  const base = new URL(server.url);
  let responded: (status: number) => void;
  const status = new Promise<number>((resolve) => (responded = resolve));
  const req = request({ host: base.hostname, port: base.port, method: 'POST', path: `/v2/shutdown/app/blobs/uploads/?digest=${sha256(data)}`, headers: { 'Content-Length': String(data.length) } }, (res) => {
    res.resume();
    responded(res.statusCode ?? 0);
  });
  req.on('error', () => responded(-1));
  await new Promise<void>((resolve) => req.write(data.subarray(0, 4096), () => resolve()));
  await sleep(100);
  const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
  server.child.kill('SIGTERM');
  await sleep(200);
  assert.equal(server.child.exitCode, null, 'the server waits for the upload in progress');
  req.end(data.subarray(4096));
  assert.equal(await status, 201, 'the upload that was in flight completes');
  assert.equal(await exited, 0);
});

test('berth registry serve refuses bad flags with one line and a usage exit code', async (t) => {
  const work = tempDir(t);
  const cases: [string[], RegExp][] = [
    [['registry', 'serve', '--addr', 'nonsense', '--root', work], /invalid --addr/],
    [['registry', 'serve', '--addr', '0.0.0.0:0', '--root', work], /refusing to serve 0\.0\.0\.0 without authentication/],
    [['registry', 'serve', '--addr', '127.0.0.1:0', '--root', work, '--tls-cert', join(work, 'x.pem')], /--tls-cert and --tls-key go together/],
    [['registry', 'serve', '--root', work, '--bogus'], /unknown flag --bogus/],
    [['registry', 'serve', '--root', work, '--max-upload-bytes', 'lots'], /non-negative whole number/],
    [['registry', 'gc'], /--root DIR is required/],
    [['registry'], /expected "serve" or "gc"/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await berthFails(args);
    assert.equal(code, 2, `${args.join(' ')} exits 2`);
    assert.match(stderr, message);
    assert.equal(stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  }
  writeFileSync(join(work, 'htpasswd'), 'alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n');
  const md5 = await berthFails(['registry', 'serve', '--addr', '127.0.0.1:0', '--root', work, '--htpasswd', join(work, 'htpasswd')]);
  assert.match(md5.stderr, /only bcrypt entries/);
  writeFileSync(join(work, 'token.json'), '{"access": "everyone"}');
  const token = await berthFails(['registry', 'serve', '--addr', '127.0.0.1:0', '--root', work, '--token-auth', join(work, 'token.json')]);
  assert.match(token.stderr, /"access" must be a list/);
});

test('the port being taken is reported, not thrown', async (t) => {
  const work = tempDir(t);
  const first = await startBerthProcess(berthBin, join(work, 'a'));
  t.after(() => first.close());
  const { code, stderr } = await berthFails(['registry', 'serve', '--addr', first.host, '--root', join(work, 'b')]);
  assert.notEqual(code, 0);
  assert.match(stderr, /cannot listen on .*EADDRINUSE/);
});
