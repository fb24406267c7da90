import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startRegistryServer } from '../../registry/server/startRegistryServer.js';
import { peer } from '../support/peers.js';
import { berthAsync } from '../support/runCli.js';
import { requireRuntime } from './support/busyboxBundle.js';
import { berthSandbox } from './support/berthSandbox.js';

async function setUp(t: TestContext) {
  const sandbox = await berthSandbox(t, 'berth-run-');
  return { ...sandbox, containers: join(sandbox.dir, 'root', 'containers') };
}

test('berth run: an image from a layout runs with the exit status of its command', async (t) => {
  if (!requireRuntime(t)) return;
  const s = await setUp(t);
  const r = s.berth(['run', '--rm', '--hostname', 'h1', '-e', 'GREETING=hi', `oci:${s.layout}:bb`, '/bin/sh', '-c', 'echo $GREETING pid=$$; hostname; exit 6']);
  assert.equal(r.status, 6, r.stderr);
  assert.equal(r.stdout, 'hi pid=1\nh1\n');
  assert.deepEqual(readdirSync(s.containers).filter((n) => !n.startsWith('.')), [], '--rm left the container');
});

test('berth run from the local store; ps, stop and rm manage a detached container', async (t) => {
  if (!requireRuntime(t)) return;
  const s = await setUp(t);
  assert.equal(s.berth(['copy', `oci:${s.layout}:bb`, 'berth:localhost/bb:1']).status, 0);
  const id = s.berth(['run', '-d', '--name', 'sleeper', 'localhost/bb:1', 'sleep', '60']);
  assert.equal(id.status, 0, id.stderr);
  assert.match(id.stdout, /^[0-9a-f]{32}\n$/);
  assert.match(s.berth(['ps']).stdout, /sleeper/);
  const dup = s.berth(['run', '-d', '--name', 'sleeper', 'localhost/bb:1', 'true']);
  assert.notEqual(dup.status, 0, 'a second container with the same name is refused');
  assert.match(dup.stderr, /already in use/);
  const rmRunning = s.berth(['rm', 'sleeper']);
  assert.notEqual(rmRunning.status, 0);
  assert.match(rmRunning.stderr, /stop it first/);
  assert.equal(s.berth(['stop', '-t', '0', 'sleeper']).status, 0);
  assert.match(s.berth(['ps', '-a']).stdout, /Exited \(137\)\s+sleeper/, 'stop -t 0 kills at once: 128 + SIGKILL');
  assert.doesNotMatch(s.berth(['ps']).stdout, /sleeper/);
  assert.equal(s.berth(['rm', 'sleeper']).status, 0);
  assert.equal(s.berth(['ps', '-a', '-q']).stdout, '');
});

test('berth run pulls a missing image over docker:// as containers-policy.json allows, then runs it from the store', async (t) => {
  if (!requireRuntime(t)) return;
  const s = await setUp(t);
  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(s.dir, 'registry') });
  t.after(() => server.close());
  const pushed = await berthAsync(['copy', `oci:${s.layout}:bb`, `docker://${server.host}/pull/bb:1`]);
  assert.equal(pushed.status, 0, pushed.stderr);
  const policyHome = (name: string, policy: object) => {
    const home = join(s.dir, name);
    mkdirSync(join(home, '.config', 'containers'), { recursive: true });
    writeFileSync(join(home, '.config', 'containers', 'policy.json'), JSON.stringify(policy));
    return home;
  };
  const env = (home: string) => ({ BERTH_ROOT: join(s.dir, 'root'), HOME: home });
  const image = `${server.host}/pull/bb:1`;

  const rejected = await berthAsync(['run', '--rm', image, '/bin/true'], { env: env(policyHome('rejecting', { default: [{ type: 'reject' }] })) });
  assert.notEqual(rejected.status, 0, 'a pull the policy rejects must not run');
  assert.equal(rejected.stderr.trim().split('\n').filter((l) => !l.startsWith('berth: pulling')).length, 1, rejected.stderr);
  assert.match(rejected.stderr, /reject/i);
  assert.doesNotMatch((await berthAsync(['images'], { env: env(join(s.dir, 'rejecting')) })).stdout, /pull\/bb/, 'nothing of a rejected pull is stored');

  const accepting = policyHome('accepting', { default: [{ type: 'insecureAcceptAnything' }] });
  const first = await berthAsync(['run', '--rm', image, '/bin/sh', '-c', 'exit 7'], { env: env(accepting) });
  assert.equal(first.status, 7, first.stderr);
  assert.match(first.stderr, /pulling docker:\/\//);
  const second = await berthAsync(['run', '--rm', image, '/bin/sh', '-c', 'echo again'], { env: env(accepting) });
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.stdout, 'again\n');
  assert.doesNotMatch(second.stderr, /pulling/, 'the second run comes from the store');
});

test('berth run SHORT-NAME: registries.conf names the registry (alias or the one search registry); never a guess', async (t) => {
  if (!requireRuntime(t)) return;
  const s = await setUp(t);
  const server = await startRegistryServer({ addr: '127.0.0.1:0', root: join(s.dir, 'registry') });
  t.after(() => server.close());
  const pushed = await berthAsync(['copy', `oci:${s.layout}:bb`, `docker://${server.host}/shorty:1`]);
  assert.equal(pushed.status, 0, pushed.stderr);
  const home = join(s.dir, 'home');
  mkdirSync(join(home, '.config', 'containers'), { recursive: true });
  writeFileSync(join(home, '.config', 'containers', 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const conf = (name: string, text: string) => {
    const file = join(s.dir, name);
    writeFileSync(file, text);
    return { BERTH_ROOT: join(s.dir, 'root'), HOME: home, CONTAINERS_REGISTRIES_CONF: file };
  };

  const none = await berthAsync(['run', '--rm', 'shorty:1', '/bin/true'], { env: conf('none.conf', '') });
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /^berth: short name "shorty:1": no unqualified-search-registries .*\n$/);
  const two = await berthAsync(['run', '--rm', 'shorty:1', '/bin/true'], { env: conf('two.conf', `unqualified-search-registries = ["${server.host}", "other.invalid"]\n`) });
  assert.notEqual(two.status, 0);
  assert.match(two.stderr, /ambiguous/);

  const aliased = conf('alias.conf', `[aliases]\n"shorty" = "${server.host}/shorty"\n`);
  const first = await berthAsync(['run', '--rm', 'shorty:1', '/bin/sh', '-c', 'echo from alias'], { env: aliased });
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.stdout, 'from alias\n');
  assert.match(first.stderr, new RegExp(`pulling docker://${server.host}/shorty:1`));
  assert.match((await berthAsync(['images'], { env: aliased })).stdout, new RegExp(`${server.host}/shorty`), 'stored under the name it resolved to');
  const again = await berthAsync(['run', '--rm', 'shorty:1', '/bin/true'], { env: conf('search.conf', `unqualified-search-registries = ["${server.host}"]\n`) });
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /pulling/, 'the one search registry names the same image, already in the store');
});

test('berth run flags: user, workdir, read-only, volume, env-file, cap-drop, limits', async (t) => {
  if (!requireRuntime(t)) return;
  const s = await setUp(t);
  const vol = join(s.dir, 'vol');
  mkdirSync(vol);
  writeFileSync(join(vol, 'data.txt'), 'from-host\n');
  const envFile = join(s.dir, 'env');
  writeFileSync(envFile, '# comment\nA=1\nB=two\n');
  const r = s.berth([
    'run', '--rm', '-u', '1000:1000', '-w', '/tmp', '--read-only', '-v', `${vol}:/data:ro`, '--env-file', envFile,
    '--cap-drop', 'ALL', '--memory', '64m', '--pids-limit', '20', `oci:${s.layout}:bb`,
    '/bin/sh', '-c', 'id -u; pwd; cat /data/data.txt; echo $A$B; grep CapEff /proc/self/status; cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes; touch /data/x 2>&1; touch /y 2>&1; true',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.deepEqual(lines.slice(0, 7), ['1000', '/tmp', 'from-host', '1two', 'CapEff:\t0000000000000000', '20', String(64 * 1024 * 1024)]);
  assert.match(lines[7]!, /Read-only file system/);
  assert.match(lines[8]!, /Read-only file system/);
  assert.ok(!existsSync(join(vol, 'x')));
});

test('berth run --runtime runc uses another runc-CLI runtime', async (t) => {
  if (!requireRuntime(t) || !peer(t, 'runc')) return;
  const s = await setUp(t);
  const r = s.berth(['run', '--rm', '--runtime', 'runc', `oci:${s.layout}:bb`, '/bin/sh', '-c', 'echo via-runc; exit 2']);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, 'via-runc\n');
});

test('berth run refuses what it cannot do, in one line', async (t) => {
  if (!requireRuntime(t)) return;
  const s = await setUp(t);
  const net = s.berth(['run', '--network', 'bridge', `oci:${s.layout}:bb`, 'true']);
  assert.notEqual(net.status, 0);
  assert.match(net.stderr, /only none and host/);
  const missing = s.berth(['run', `oci:${s.layout}:nope`, 'true']);
  assert.notEqual(missing.status, 0);
  assert.equal(missing.stderr.split('\n').length, 2);
});

test('berth run: loopback is up in the container\'s own network namespace, with --network none too', async (t) => {
  if (!requireRuntime(t)) return;
  const s = await setUp(t);
  // A server inside the container, reached on 127.0.0.1 from inside it (runc brings lo up in every namespace it makes).
  const script = 'mkdir -p /tmp/www && echo pong > /tmp/www/ping && httpd -p 127.0.0.1:8080 -h /tmp/www && wget -q -O - http://127.0.0.1:8080/ping';
  for (const network of [[], ['--network', 'none']]) {
    const r = s.berth(['run', '--rm', ...network, `oci:${s.layout}:bb`, '/bin/sh', '-c', script]);
    assert.equal(r.status, 0, `${network.join(' ') || 'default'}: ${r.stderr}`);
    assert.equal(r.stdout, 'pong\n');
  }
});

test('berth run: a missing command exits 127, a non-executable one 126, each with one line (podman\'s convention)', async (t) => {
  if (!requireRuntime(t)) return;
  const s = await setUp(t);
  for (const [command, status, words] of [['/nope', 127, /no such file/], ['nope', 127, /not found in \$PATH/], ['/etc/passwd', 126, /permission denied/]] as const) {
    const r = s.berth(['run', '--rm', `oci:${s.layout}:bb`, command]);
    assert.equal(r.status, status, `${command}: ${r.stderr}`);
    assert.match(r.stderr, words);
    assert.equal(r.stderr.split('\n').length, 2, r.stderr);
  }
});

test('berth ps -a shows each exited container\'s status, foreground or detached; berth logs prints a detached one\'s output', async (t) => {
  if (!requireRuntime(t)) return;
  const s = await setUp(t);
  assert.equal(s.berth(['run', '--name', 'fg', `oci:${s.layout}:bb`, 'sh', '-c', 'exit 5']).status, 5);
  assert.equal(s.berth(['run', '-d', '--name', 'bg', `oci:${s.layout}:bb`, 'sh', '-c', 'echo out; echo err >&2; exit 4']).status, 0);
  const followed = s.berth(['logs', '-f', 'bg']);
  assert.equal(followed.status, 0, followed.stderr);
  assert.equal(followed.stdout, 'out\nerr\n');
  const ps = s.berth(['ps', '-a']).stdout;
  assert.match(ps, /Exited \(5\)\s+fg/);
  assert.match(ps, /Exited \(4\)\s+bg/);
  const rows = JSON.parse(s.berth(['ps', '-a', '--format', 'json']).stdout) as Array<{ name: string; exitCode?: number }>;
  assert.deepEqual(rows.map((r) => [r.name, r.exitCode]).sort(), [['bg', 4], ['fg', 5]]);
  assert.equal(s.berth(['logs', 'bg']).stdout, 'out\nerr\n');
  assert.equal(s.berth(['logs', 'nosuch']).status, 3);
});
