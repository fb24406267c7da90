import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { berthBin, peer, tempDir } from '../support/peers.js';
import { busyboxBundle, relayPath, requireRuntime, runtime } from './support/busyboxBundle.js';
import { berthSandbox } from './support/berthSandbox.js';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function setUp(t: TestContext) {
  const sandbox = await berthSandbox(t, 'berth-tty-');
  const berth = (args: string[], input = '') => sandbox.berth(args, { input });
  return { dir: sandbox.dir, image: `oci:${sandbox.layout}:bb`, env: sandbox.env, berth, berthCommand: `${quote(process.execPath)} ${quote(berthBin)}` };
}

/**
 * Run a shell command line on a real terminal (util-linux script allocates a pty and copies its stdin
 * into it). Each `when` pattern, once seen in the output, gets its text typed (and its action run).
 */
function onTerminal(command: string, env: NodeJS.ProcessEnv, steps: { when: RegExp; type?: string; run?: () => void }[] = []): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    let output = '';
    const pending = [...steps];
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      while (pending.length && pending[0]!.when.test(output)) {
        const step = pending.shift()!;
        step.run?.();
        if (step.type !== undefined) child.stdin.write(step.type);
      }
    });
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

test('berth run -t with pipes: the command sees a pty on 0/1/2, its exit status passes through, stdin only with -i', async (t) => {
  if (!requireRuntime(t)) return;
  const s = await setUp(t);
  const r = s.berth(['run', '-t', '--rm', s.image, '/bin/sh', '-c', 'tty; test -t 0 && test -t 1 && test -t 2 && echo in-tty; read -t 1 line; echo "got=$line"; exit 5'], 'not-attached\n');
  assert.equal(r.status, 5, r.stderr);
  // A pty's output turns "\n" into "\r\n"; without -i the piped line never reaches the container.
  assert.match(r.stdout, /^\/dev\/pts\/\d+\r\nin-tty\r\ngot=\r\n$/);
  const i = s.berth(['run', '-i', '-t', '--rm', s.image, '/bin/sh', '-c', 'read line; echo "got=$line"; cat; echo after-eof; exit 0'], 'hello\nmore\n');
  assert.equal(i.status, 0, i.stderr);
  // The pty echoes what is typed; the end of our stdin reaches cat as the terminal's end-of-file (^D).
  assert.match(i.stdout, /got=hello\r\n/);
  assert.match(i.stdout, /more\r\n(more\r\n)?after-eof\r\n$/);
  assert.deepEqual(readdirSync(join(s.dir, 'root', 'containers')).filter((n) => !n.startsWith('.')), [], '--rm left the container');
});

test('berth run -it on a real terminal: window size and its changes arrive, typed input reaches the shell, the terminal is restored', async (t) => {
  if (!requireRuntime(t) || !peer(t, 'script')) return;
  const s = await setUp(t);
  const flag = join(s.dir, 'resize-now');
  const inner = 'stty size; echo ready; read line; echo "got=$line"; while [ "$(stty size)" = "45 123" ]; do sleep 0.05; done; stty size; exit 3';
  const command = [
    'stty cols 123 rows 45',
    `(while [ ! -e ${quote(flag)} ]; do sleep 0.05; done; stty cols 99 rows 33 </dev/tty) &`,
    `${s.berthCommand} run -it --rm ${quote(s.image)} /bin/sh -c ${quote(inner)}`,
    'echo "berth-status=$?"',
    'stty -a',
  ].join('\n');
  const r = await onTerminal(command, s.env, [{ when: /ready/, type: 'typed-line\n' }, { when: /got=typed-line/, run: () => writeFileSync(flag, '') }]);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /^45 123\r\nready\r\n/, 'the caller\'s window size is the pty\'s from the start');
  assert.match(r.output, /typed-line\r\ngot=typed-line\r\n/);
  assert.match(r.output, /\r\n33 99\r\n/, 'SIGWINCH carries the new size to the pty');
  assert.match(r.output, /berth-status=3/);
  // Raw mode while the container ran; canonical mode with echo back afterwards.
  const after = r.output.slice(r.output.indexOf('berth-status='));
  assert.match(after, /(^|[\s;])icanon[\s;]/);
  assert.match(after, /(^|[\s;])echo[\s;]/);
});

test('berth run -it: a relay killed mid-run restores the terminal, and berth stops the container and says so', async (t) => {
  if (!requireRuntime(t) || !peer(t, 'script')) return;
  const s = await setUp(t);
  const flag = join(s.dir, 'kill-now');
  const command = [
    `${s.berthCommand} run -it --rm ${quote(s.image)} /bin/sh -c 'echo ready; sleep 60' </dev/tty &`,
    'berth=$!',
    `while [ ! -e ${quote(flag)} ]; do sleep 0.05; done`,
    'kill -TERM $(pgrep -P $berth berth-console)',
    'wait $berth; echo "berth-status=$?"',
    'stty -a',
  ].join('\n');
  const r = await onTerminal(command, s.env, [{ when: /ready/, run: () => writeFileSync(flag, '') }]);
  assert.match(r.output, /berth: berth-console-relay exited with status 143\r?\n/);
  assert.match(r.output, /berth-status=[1-9]/);
  const after = r.output.slice(r.output.indexOf('berth-status='));
  assert.match(after, /(^|[\s;])icanon[\s;]/);
  assert.match(after, /(^|[\s;])echo[\s;]/);
  assert.equal(s.berth(['ps', '-a', '-q']).stdout, '', 'the container was stopped and removed');
});

test('berth run -it --runtime runc: runc holds the pty on the caller\'s terminal; without one it is refused in one line', async (t) => {
  if (!requireRuntime(t) || !peer(t, 'runc') || !peer(t, 'script')) return;
  const s = await setUp(t);
  // runc sizes its pty itself, racing the process start (stty may see 0 0): not asserted here.
  const inner = 'tty; test -t 0 && echo in-tty; echo ready; read line; echo "got=$line"; exit 4';
  const command = `${s.berthCommand} run -it --rm --runtime runc ${quote(s.image)} /bin/sh -c ${quote(inner)}`;
  const r = await onTerminal(command, s.env, [{ when: /ready/, type: 'via-runc\n' }]);
  assert.equal(r.status, 4, r.output);
  assert.match(r.output, /^\/dev\/pts\/\d+\r\nin-tty\r\nready\r\n/);
  assert.match(r.output, /got=via-runc\r\n/);
  const piped = s.berth(['run', '-t', '--rm', '--runtime', 'runc', s.image, 'true']);
  assert.equal(piped.status, 7);
  assert.match(piped.stderr, /^berth: -t with --runtime runc: .*terminal\n$/);
});

test('berth run -d -t: the pty\'s output goes to the container\'s log, with berth-runc and with runc', async (t) => {
  if (!requireRuntime(t) || !peer(t, 'runc')) return;
  const s = await setUp(t);
  for (const runtimeFlags of [[], ['--runtime', 'runc']]) {
    const name = `detached${runtimeFlags.length}`;
    const r = s.berth(['run', '-d', '-t', '--name', name, ...runtimeFlags, s.image, '/bin/sh', '-c', 'tty; test -t 0 && echo in-tty; sleep 0.2; echo later']);
    assert.equal(r.status, 0, r.stderr);
    const log = join(s.dir, 'root', 'containers', r.stdout.trim(), 'output.log');
    let text = '';
    for (let i = 0; i < 500 && !/later\r\n$/.test(text); i++) {
      await sleep(20);
      text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    }
    assert.match(text, /^\/dev\/pts\/\d+\r\nin-tty\r\nlater\r\n$/, runtimeFlags.join(' '));
    assert.equal(s.berth(['rm', '-f', name]).status, 0);
  }
});

/** Start the relay on a socket in dir; resolves once it listens. */
async function startRelay(dir: string) {
  const socket = join(dir, 'console.sock');
  const relay = spawn(relayPath, ['--no-stdin', socket], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  relay.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  relay.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => relay.on('close', (status) => resolve({ status, stdout, stderr })));
  for (let i = 0; i < 200 && !existsSync(socket); i++) await sleep(10);
  assert.ok(existsSync(socket), `the relay did not listen: ${stderr}`);
  return { socket, exited, relay };
}

test('berth-runc create --console-socket with a terminal: the pty master reaches the relay, start\'s output arrives through it', async (t) => {
  if (!requireRuntime(t)) return;
  const bundle = busyboxBundle(t, ['/bin/sh', '-c', 'tty; echo through-the-relay; exit 0']);
  bundle.spec.process!.terminal = true;
  bundle.spec.process!.consoleSize = { height: 40, width: 132 };
  bundle.spec.process!.args = ['/bin/sh', '-c', 'tty; stty size; echo through-the-relay'];
  bundle.write();
  const { socket, exited, relay } = await startRelay(tempDir(t, 'berth-console-'));
  t.after(() => relay.kill('SIGKILL'));
  const created = runtime(bundle, ['create', '--console-socket', socket, 'tty1']);
  assert.equal(created.status, 0, created.stderr);
  assert.equal(runtime(bundle, ['start', 'tty1']).status, 0);
  const r = await exited;
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\/dev\/pts\/\d+\r\n40 132\r\nthrough-the-relay\r\n$/);
  assert.equal(runtime(bundle, ['delete', 'tty1']).status, 0);
  const noTerminal = runtime(bundle, ['create', 'tty2']);
  assert.notEqual(noTerminal.status, 0, 'terminal: true without --console-socket is refused');
  assert.match(noTerminal.stderr, /console-socket/);
});

test('berth-console-relay refuses a message without a file descriptor and a second connection, in one line', async (t) => {
  if (!requireRuntime(t)) return;
  const dir = tempDir(t, 'berth-console-');
  const first = await startRelay(dir);
  // The relay drops the connection when it fails; the reset this client sees is expected.
  const plain = connect(first.socket).on('error', () => {});
  plain.end('no fd here');
  const r = await first.exited;
  plain.destroy();
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^berth-console-relay: the console socket's message carried no file descriptor .*\n$/);

  // A second connection while a pty is being relayed stops the relay; berth-runc's container is then alone.
  const bundle = busyboxBundle(t, ['/bin/sh', '-c', 'echo started; sleep 30']);
  bundle.spec.process!.terminal = true;
  bundle.write();
  const second = await startRelay(tempDir(t, 'berth-console-'));
  t.after(() => second.relay.kill('SIGKILL'));
  assert.equal(runtime(bundle, ['create', '--console-socket', second.socket, 'tty3']).status, 0);
  const intruder = connect(second.socket).on('error', () => {});
  const r2 = await second.exited;
  intruder.destroy();
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /^berth-console-relay: a second connection on the console socket .*\n$/);
  assert.equal(runtime(bundle, ['delete', '--force', 'tty3']).status, 0);
});
