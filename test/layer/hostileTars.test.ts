import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { hostileCases } from '../../fixtures/hostile-tars/generate.js';
import { isBerthError } from '../../src/errors/BerthError.js';
import { applyLayer } from '../../src/layer/applyLayer.js';
import { tempDir } from '../support/peers.js';

/** Everything under `dir` except `skip`: type, mode, size and content hash, to prove nothing changed. */
function snapshot(dir: string, skip: string, out = new Map<string, string>(), rel = ''): Map<string, string> {
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const path = rel === '' ? name : `${rel}/${name}`;
    if (path === skip) continue;
    const st = lstatSync(join(dir, path));
    let detail = `${st.mode.toString(8)} ${st.uid}:${st.gid}`;
    if (st.isFile()) detail += ` ${createHash('sha256').update(readFileSync(join(dir, path))).digest('hex')}`;
    if (st.isSymbolicLink()) detail += ` -> ${readlinkSync(join(dir, path))}`;
    out.set(path, detail);
    if (st.isDirectory()) snapshot(dir, skip, out, path);
  }
  return out;
}

/** Odd-sized chunks so headers and records straddle chunk boundaries. */
function chunked(bytes: Buffer): Readable {
  return Readable.from((function* () {
    for (let off = 0; off < bytes.length; off += 777) yield bytes.subarray(off, off + 777);
  })());
}

const bytePath = (root: string, rel: string): Buffer => Buffer.from(`${root}/${rel}`, 'latin1');

for (const hostile of hostileCases('/PLACEHOLDER')) {
  test(`hostile tar: ${hostile.name} — ${hostile.description}`, async (t) => {
    const tmp = tempDir(t, 'berth-hostile-');
    const root = join(tmp, 'root');
    const outside = join(tmp, 'outside');
    mkdirSync(root);
    mkdirSync(join(outside, 'sub'), { recursive: true });
    writeFileSync(join(outside, 'sentinel'), 'sentinel');
    const current = hostileCases(outside).find((c) => c.name === hostile.name)!;
    const before = snapshot(tmp, 'root');
    const warnings: string[] = [];
    const run = async (): Promise<void> => {
      for (const layer of current.layers) {
        await applyLayer(root, chunked(layer), { ...(current.limits ? { limits: current.limits } : {}), onWarning: (w) => warnings.push(w) });
      }
    };
    if ('error' in current.expect) {
      const code = current.expect.error;
      await assert.rejects(run(), (err: unknown) => {
        assert.ok(isBerthError(err, code), `expected ${code}, got ${String((err as Error)?.stack ?? err)}`);
        assert.doesNotMatch((err as Error).message, /\n/);
        return true;
      });
    } else {
      await run();
      for (const check of current.expect.result) {
        const path = bytePath(root, check.path);
        const st = lstatSync(path, { throwIfNoEntry: false });
        if (check.absent) {
          assert.equal(st, undefined, `${check.path} should not exist`);
          continue;
        }
        assert.ok(st, `${check.path} should exist`);
        if (check.file !== undefined) {
          assert.ok(st.isFile(), `${check.path} should be a regular file`);
          assert.equal(readFileSync(path, 'utf8'), check.file);
        }
        if (check.symlink !== undefined) assert.equal(readlinkSync(path, 'utf8'), check.symlink);
        if (check.dir) assert.ok(st.isDirectory(), `${check.path} should be a directory`);
      }
      const warning = current.expect.warning;
      if (warning) assert.ok(warnings.some((w) => warning.test(w)), `expected a warning matching ${warning}`);
    }
    assert.deepEqual(snapshot(tmp, 'root'), before, 'nothing outside the root may change');
  });
}

test('the corpus has at least 15 cases', () => {
  assert.ok(hostileCases('/x').length >= 15);
});
