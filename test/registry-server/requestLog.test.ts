import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { berthBin, tempDir } from '../support/peers.js';
import { freePort, stopProcess, waitForV2 } from '../support/serverProcess.js';

/** Serve with these flags, send two requests, and return what the server wrote to stderr by then. */
async function logOf(t: TestContext, flags: string[]): Promise<string[]> {
  const port = await freePort();
  const child = spawn(process.execPath, [berthBin, 'registry', 'serve', '--addr', `127.0.0.1:${port}`, '--root', join(tempDir(t, 'berth-log-'), 'r'), ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  t.after(() => stopProcess(child));
  const url = `http://127.0.0.1:${port}`;
  await waitForV2(url, child, 'berth registry serve');
  await new Promise((r) => setTimeout(r, 200));
  const before = stderr.split('\n').filter(Boolean).length;
  assert.equal((await fetch(`${url}/v2/`)).status, 200);
  assert.equal((await fetch(`${url}/v2/nope/manifests/latest?x=1`)).status, 404);
  await new Promise((r) => setTimeout(r, 200));
  return stderr.split('\n').filter(Boolean).slice(before);
}

test('registry serve logs one line per request (text by default, --log-format json), none with --quiet', async (t) => {
  const text = await logOf(t, []);
  assert.equal(text.length, 2, text.join('\n'));
  assert.match(text[0]!, /^\d{4}-\d\d-\d\dT\S+ 127\.0\.0\.1 GET \/v2\/ 200 \d+ [\d.]+ms$/);
  assert.match(text[1]!, /^\S+ 127\.0\.0\.1 GET \/v2\/nope\/manifests\/latest 404 \d+ [\d.]+ms$/);
  const json = (await logOf(t, ['--log-format', 'json'])).map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(json.map((e) => [e.method, e.path, e.status]), [['GET', '/v2/', 200], ['GET', '/v2/nope/manifests/latest', 404]]);
  assert.ok(json.every((e) => typeof e.bytes === 'number' && (e.bytes as number) > 0 && typeof e.durationMs === 'number'));
  assert.deepEqual(await logOf(t, ['--quiet']), []);
});
