import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { makeBaseImage } from '../../../fixtures/base-image/makeBaseImage.js';
import { isRoot, peer, tempDir } from '../../support/peers.js';
import { berthAsync } from '../../support/runCli.js';

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('ADD of a git repository (git daemon on loopback): a tag, a branch\'s subdirectory, --keep-git-dir; a moved branch is a new step, the rest stays cached', async (t) => {
  if (!isRoot()) return t.skip('builds run as root here');
  if (!peer(t, 'git')) return;
  const dir = tempDir(t, 'berth-add-git-');
  const work = join(dir, 'work');
  const sh = (command: string) => {
    const r = spawnSync('sh', ['-c', command], { cwd: work, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.com', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.com' } });
    assert.equal(r.status, 0, `${command}: ${r.stderr}`);
  };
  mkdirSync(join(work, 'sub'), { recursive: true });
  writeFileSync(join(work, 'a.txt'), 'a at v1\n');
  writeFileSync(join(work, 'sub', 'b.txt'), 'b at v1\n');
  sh('git init -q -b main . && git add . && git commit -qm v1 && git tag -a v1 -m v1');
  writeFileSync(join(work, 'a.txt'), 'a after v1\n');
  sh('git commit -qam two');
  sh(`git clone -q --bare . ${join(dir, 'served', 'repo.git')}`);
  const port = await freePort();
  const daemon = spawn('git', ['daemon', '--reuseaddr', '--export-all', `--base-path=${join(dir, 'served')}`, '--listen=127.0.0.1', `--port=${port}`, join(dir, 'served')], { stdio: 'ignore' });
  t.after(() => daemon.kill());
  const remote = `git://127.0.0.1:${port}/repo.git`;
  for (let i = 0; i < 100 && spawnSync('git', ['ls-remote', remote]).status !== 0; i++) await sleep(30);

  await makeBaseImage(join(dir, 'base'), { tag: 'bb' });
  const context = join(dir, 'ctx');
  mkdirSync(context);
  writeFileSync(join(context, 'Dockerfile'), [
    `FROM oci:${join(dir, 'base')}:bb`,
    `ADD ${remote}#v1 /v1/`,
    `ADD ${remote}#main:sub /sub`,
    `ADD --keep-git-dir=true ${remote} /withgit`,
    '',
  ].join('\n'));
  const env = { BERTH_ROOT: join(dir, 'root') };
  const build = async (out: string) => {
    const r = await berthAsync(['build', '-t', `oci:${join(dir, out)}:x`, context], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await berthAsync(['unpack', `oci:${join(dir, out)}:x`, join(dir, `${out}-files`)], { env })).status, 0);
    return { log: r.stdout + r.stderr, file: (path: string) => readFileSync(join(dir, `${out}-files`, 'rootfs', path), 'utf8'), has: (path: string) => existsSync(join(dir, `${out}-files`, 'rootfs', path)) };
  };
  const first = await build('one');
  assert.equal(first.file('v1/a.txt'), 'a at v1\n', 'the tag, not the branch');
  assert.equal(first.file('v1/sub/b.txt'), 'b at v1\n');
  assert.ok(!first.has('v1/.git'), '.git is left out by default');
  assert.equal(first.file('sub/b.txt'), 'b at v1\n', 'a subdirectory\'s contents');
  assert.ok(!first.has('sub/a.txt'));
  assert.equal(first.file('withgit/a.txt'), 'a after v1\n', 'no ref: the default branch');
  assert.ok(first.has('withgit/.git/HEAD'), '--keep-git-dir keeps it');

  // The branch moves: its steps are new, the tag's is not.
  writeFileSync(join(work, 'sub', 'b.txt'), 'b moved on\n');
  sh(`git commit -qam three && git push -q ${join(dir, 'served', 'repo.git')} main`);
  const second = await build('two');
  assert.equal(second.file('sub/b.txt'), 'b moved on\n');
  assert.equal(second.file('v1/sub/b.txt'), 'b at v1\n');
  assert.equal(second.log.match(/--> Using cache/g)?.length, 1, `only the tag's step is cached:\n${second.log}`);

  // A ref the repository does not have: one line, nothing written.
  writeFileSync(join(context, 'Dockerfile'), `FROM oci:${join(dir, 'base')}:bb\nADD ${remote}#no-such-branch /x\n`);
  const missing = await berthAsync(['build', '-t', `oci:${join(dir, 'never')}:x`, context], { env });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, new RegExp(`ADD ${remote}#no-such-branch: ${remote} has no ref "no-such-branch"\\n$`));
  assert.ok(!existsSync(join(dir, 'never')));
});
