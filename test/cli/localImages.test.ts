import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeBaseImage } from '../../fixtures/base-image/makeBaseImage.js';
import { startRegistryServer } from '../../registry/server/startRegistryServer.js';
import { tempDir } from '../support/peers.js';
import { berth, berthAsync } from '../support/runCli.js';

test('podman habits: tag, save, load, push and pull move an image through the local store', async (t) => {
  const dir = tempDir(t, 'berth-local-');
  await makeBaseImage(join(dir, 'layout'), { tag: 'bb' });
  const a = { BERTH_ROOT: join(dir, 'a') };
  const b = { BERTH_ROOT: join(dir, 'b') };
  assert.equal(berth(['copy', '-q', `oci:${join(dir, 'layout')}:bb`, 'berth:localhost/app:1'], { env: a }).status, 0);
  const digest = JSON.parse(berth(['inspect', 'berth:localhost/app:1'], { env: a }).stdout).Digest as string;

  assert.equal(berth(['tag', 'localhost/app:1', 'localhost/app:2', 'localhost/other:x'], { env: a }).status, 0);
  const images = berth(['images'], { env: a }).stdout;
  for (const name of [/localhost\/app\s+1/, /localhost\/app\s+2/, /localhost\/other\s+x/]) assert.match(images, name);

  const archive = join(dir, 'app.tar');
  assert.equal(berth(['save', '-o', archive, 'localhost/app:2'], { env: a }).status, 0);
  const loaded = berth(['load', '-i', archive], { env: b });
  assert.equal(loaded.status, 0, loaded.stderr);
  assert.equal(loaded.stdout, 'Loaded image: localhost/app:2\n');
  assert.match(berth(['images'], { env: b }).stdout, /localhost\/app\s+2/);

  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'registry') });
  t.after(() => server.close());
  const pushed = await berthAsync(['push', '-q', 'localhost/app:1', `${server.host}/team/app:1`], { env: a });
  assert.equal(pushed.status, 0, pushed.stderr);
  assert.equal(pushed.stdout, `${digest}\n`);
  const pulled = await berthAsync(['pull', '-q', '--tls-verify=false', `${server.host}/team/app:1`], { env: { BERTH_ROOT: join(dir, 'c') } });
  assert.equal(pulled.status, 0, pulled.stderr);
  assert.equal(pulled.stdout, `${digest}\n`);
  assert.match(berth(['images'], { env: { BERTH_ROOT: join(dir, 'c') } }).stdout, new RegExp(`${server.host.replace(/\./g, '\\.')}/team/app\\s+1`));

  const missing = berth(['save', '-o', join(dir, 'x.tar'), 'localhost/nope:1'], { env: a });
  assert.equal(missing.status, 3, missing.stderr);
  const short = berth(['pull', 'justaname'], { env: a });
  assert.equal(short.status, 2);
  assert.match(short.stderr, /short name "justaname"/);
});
