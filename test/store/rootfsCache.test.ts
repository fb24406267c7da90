import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RootfsCache } from '../../src/store/rootfsCache.js';
import { tempDir } from '../support/peers.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const moduleUrl = new URL('../../src/store/rootfsCache.js', import.meta.url).href;

/** A fake unpack: a rootfs with one file and a config.json, slow enough for a second process to arrive meanwhile. */
function unpackInto(log: string, who: string) {
  return async (dir: string) => {
    writeFileSync(join(log, `${who}-${process.pid}-${Date.now()}`), '');
    await new Promise((r) => setTimeout(r, 300));
    mkdirSync(join(dir, 'rootfs'), { recursive: true });
    writeFileSync(join(dir, 'rootfs', 'hello'), who);
    writeFileSync(join(dir, 'config.json'), '{}');
  };
}

test('rootfs cache: an image is unpacked once, even by two processes at the same moment', async (t) => {
  const root = tempDir(t, 'berth-rootfs-');
  const log = join(root, 'unpacks');
  mkdirSync(log);
  const child = (id: string) =>
    new Promise<number | null>((resolve) => {
      const script = `
        import { writeFileSync, mkdirSync } from 'node:fs';
        import { join } from 'node:path';
        const { RootfsCache } = await import(${JSON.stringify(moduleUrl)});
        await new RootfsCache(${JSON.stringify(root)}).acquire(${JSON.stringify(DIGEST)}, ${JSON.stringify(id)}, async (dir) => {
          writeFileSync(join(${JSON.stringify(log)}, ${JSON.stringify(id)}), '');
          await new Promise((r) => setTimeout(r, 300));
          mkdirSync(join(dir, 'rootfs'), { recursive: true });
          writeFileSync(join(dir, 'config.json'), '{}');
        });`;
      spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' }).on('exit', resolve);
    });
  assert.deepEqual(await Promise.all([child('c1'), child('c2')]), [0, 0]);
  assert.equal(readdirSync(log).length, 1, 'only one of the two processes unpacked');
  const cache = new RootfsCache(root);
  const entry = await cache.acquire(DIGEST, 'c3', unpackInto(log, 'c3'));
  assert.equal(readdirSync(log).length, 1, 'a later run takes the cached unpack');
  assert.ok(existsSync(join(entry, 'config.json')));
  assert.deepEqual(readdirSync(`${entry}.users`).sort(), ['c1', 'c2', 'c3']);
  assert.deepEqual(readdirSync(cache.dir).filter((n) => n.includes('tmp') || n.endsWith('.lock')), [], 'no temp or lock left behind');
});

test('rootfs cache: a failed unpack leaves nothing a later run would take for complete', async (t) => {
  const cache = new RootfsCache(tempDir(t, 'berth-rootfs-'));
  await assert.rejects(
    cache.acquire(DIGEST, 'c1', async (dir) => {
      mkdirSync(join(dir, 'rootfs'), { recursive: true });
      throw new Error('layer truncated');
    }),
    /layer truncated/,
  );
  assert.ok(!existsSync(cache.entryDir(DIGEST)));
  assert.deepEqual(readdirSync(cache.dir).filter((n) => n.startsWith('.tmp-')), []);
});

test('rootfs cache prune: removes what no existing container uses and orphaned unpacks, keeps the rest', async (t) => {
  const root = tempDir(t, 'berth-rootfs-');
  const log = join(root, 'unpacks');
  mkdirSync(log);
  const cache = new RootfsCache(root);
  const used = `sha256:${'b'.repeat(64)}`;
  const unused = `sha256:${'c'.repeat(64)}`;
  await cache.acquire(used, 'alive', unpackInto(log, 'used'));
  await cache.acquire(used, 'gone', unpackInto(log, 'used'));
  await cache.acquire(unused, 'gone-too', unpackInto(log, 'unused'));
  // A half-done unpack of a process that died (PID 2^22 + 1 is above Linux's pid_max), and one in progress here.
  mkdirSync(join(cache.dir, `.tmp-${2 ** 22 + 1}-0a0b0c`, 'rootfs'), { recursive: true });
  mkdirSync(join(cache.dir, `.tmp-${process.pid}-0d0e0f`));

  const report = await cache.prune((id) => id === 'alive');
  assert.deepEqual(report, { removed: [unused], kept: [used], orphans: 1 });
  assert.ok(existsSync(join(cache.entryDir(used), 'config.json')));
  assert.deepEqual(readdirSync(`${cache.entryDir(used)}.users`), ['alive'], 'gone containers no longer hold the entry');
  assert.ok(!existsSync(cache.entryDir(unused)) && !existsSync(`${cache.entryDir(unused)}.users`));
  assert.deepEqual(readdirSync(cache.dir).filter((n) => n.startsWith('.tmp-')), [`.tmp-${process.pid}-0d0e0f`], 'an unpack in progress is left alone');

  assert.deepEqual(await cache.prune(() => false), { removed: [used], kept: [], orphans: 0 });
  assert.deepEqual(await new RootfsCache(join(root, 'never-used')).prune(() => false), { removed: [], kept: [], orphans: 0 });
});
