import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { makeNodeBaseImage } from '../../../fixtures/base-image/makeNodeBaseImage.js';
import { isRoot, peer, tempDir } from '../../support/peers.js';
import { berthAsync } from '../../support/runCli.js';

/** Asks the agent at $SSH_AUTH_SOCK for its identities (SSH_AGENTC_REQUEST_IDENTITIES) and prints their comments. */
const LIST_IDENTITIES = `
const socket = require('net').connect(process.env.SSH_AUTH_SOCK);
let reply = Buffer.alloc(0);
socket.write(Buffer.from([0, 0, 0, 1, 11]));
socket.on('data', (chunk) => {
  reply = Buffer.concat([reply, chunk]);
  if (reply.length < 4 || reply.length < 4 + reply.readUInt32BE(0)) return;
  socket.destroy();
  let at = 9;
  const comments = [];
  for (let i = 0; i < reply.readUInt32BE(5); i++) {
    at += 4 + reply.readUInt32BE(at);
    const length = reply.readUInt32BE(at);
    comments.push(reply.subarray(at + 4, at + 4 + length).toString());
    at += 4 + length;
  }
  console.log('type=' + reply[4] + ' keys=' + comments.join(','));
});
`;

test('RUN --mount=type=ssh forwards the build\'s ssh agent (--ssh) through a socket of the mount\'s owner and mode, only while the step runs', async (t) => {
  if (!isRoot()) return t.skip('RUN steps need root (berth-runc)');
  if (!peer(t, 'ssh-agent') || !peer(t, 'ssh-keygen')) return;
  const dir = tempDir(t, 'berth-ssh-');
  const agentSocket = join(dir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', agentSocket], { stdio: 'ignore' });
  t.after(() => agent.kill());
  for (let i = 0; i < 100 && !existsSync(agentSocket); i++) await sleep(20);
  assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'berth-ci-deploy-key', '-f', join(dir, 'key')]).status, 0);
  const added = spawnSync('ssh-add', [join(dir, 'key')], { env: { ...process.env, SSH_AUTH_SOCK: agentSocket }, encoding: 'utf8' });
  assert.equal(added.status, 0, added.stderr);

  const base = await makeNodeBaseImage(join(dir, 'base'));
  const context = join(dir, 'ctx');
  mkdirSync(context);
  writeFileSync(join(context, 'list-identities.js'), LIST_IDENTITIES);
  writeFileSync(
    join(context, 'Dockerfile'),
    [
      `FROM ${base}`,
      'RUN --mount=type=ssh --mount=type=bind,target=/ctx node /ctx/list-identities.js > /identities && stat -c "%u:%g %a %F" "$SSH_AUTH_SOCK" > /socket',
      'RUN --mount=type=ssh,id=deploy,target=/run/deploy.sock,uid=1000,gid=1000,mode=0660 stat -c "%u:%g %a $SSH_AUTH_SOCK" /run/deploy.sock > /deploy',
      'RUN --mount=type=ssh,id=absent echo "SSH_AUTH_SOCK=${SSH_AUTH_SOCK:-unset}" > /absent',
      '',
    ].join('\n'),
  );
  const env = { BERTH_ROOT: join(dir, 'root') };
  const built = await berthAsync(['build', '-q', '--ssh', 'default', '--ssh', `deploy=${agentSocket}`, '-t', `oci:${join(dir, 'out')}:x`, context], { env: { ...env, SSH_AUTH_SOCK: agentSocket } });
  assert.equal(built.status, 0, built.stderr);
  const unpacked = join(dir, 'unpacked');
  assert.equal((await berthAsync(['unpack', `oci:${join(dir, 'out')}:x`, unpacked], { env })).status, 0);
  const file = (name: string) => spawnSync('cat', [join(unpacked, 'rootfs', name)], { encoding: 'utf8' }).stdout;
  assert.equal(file('identities'), 'type=12 keys=berth-ci-deploy-key\n', 'the agent answered from inside the step');
  assert.equal(file('socket'), '0:0 600 socket\n');
  assert.equal(file('deploy'), '1000:1000 660 /run/deploy.sock\n');
  assert.equal(file('absent'), 'SSH_AUTH_SOCK=unset\n', 'an ssh mount without an agent is left out, as BuildKit leaves it');
  assert.ok(!existsSync(join(unpacked, 'rootfs', 'run', 'buildkit', 'ssh_agent.0')), 'the socket is not in any layer');
  assert.ok(!existsSync(join(unpacked, 'rootfs', 'run', 'deploy.sock')));

  // required=true without an agent, and a --ssh that names no socket: one line each, nothing built.
  writeFileSync(join(context, 'Dockerfile'), `FROM ${base}\nRUN --mount=type=ssh,id=git,required=true true\n`);
  const missing = await berthAsync(['build', '-t', `oci:${join(dir, 'never')}:x`, context], { env });
  assert.equal(missing.status, 2, missing.stderr);
  assert.match(missing.stderr, /RUN --mount=type=ssh,id=git: no --ssh git was given\n$/);
  const notSocket = await berthAsync(['build', '--ssh', `git=${join(dir, 'key')}`, '-t', `oci:${join(dir, 'never')}:x`, context], { env });
  assert.equal(notSocket.stderr, `berth: build: --ssh git: ${join(dir, 'key')} is not an ssh agent socket (key files are not taken: add them to ssh-agent)\n`);
  assert.ok(!existsSync(join(dir, 'never')));
});
