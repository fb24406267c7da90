import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { berthRuncBin } from '../support/peers.js';
import { busyboxBundle, helperPath, requireRuntime, runOnce, runtime } from './support/busyboxBundle.js';

/** As with runc, a created or detached container keeps the caller's stdio: give it none, or the caller waits for its end. */
const detachedStdio = { stdio: 'ignore' as const };

const cgroupRoots = ['memory', 'pids', 'cpu', 'freezer', 'devices', 'unified'].map((c) => `/sys/fs/cgroup/${c}`).filter(existsSync);

test('the container process is pid 1 with its own hostname, exit status passed through', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/sh', '-c', 'echo pid=$$; hostname; exit 7']);
  b.spec.hostname = 'inside-berth';
  const r = runOnce(b);
  assert.equal(r.status, 7, r.stderr);
  assert.match(r.stdout, /^pid=1\ninside-berth\n$/);
});

test('a killed container exits 128+signal', async (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/sleep', '30']);
  b.write();
  // pid 1 of a pid namespace ignores signals from inside, so the kill comes from the host, through the runtime.
  const child = spawn(process.execPath, [berthRuncBin, '--root', b.root, 'run', 'victim'], { cwd: b.dir, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 200; i++) {
    const state = runtime(b, ['state', 'victim']);
    if (state.status === 0 && JSON.parse(state.stdout).status === 'running') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(runtime(b, ['kill', 'victim', 'KILL']).status, 0);
  assert.equal(await exited, 137);
  assert.equal(runtime(b, ['list', '-q']).stdout, '', 'run removes the container after it exits');
});

test('no host mount or host process is visible inside', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/sh', '-c', 'cat /proc/self/mountinfo; echo PIDS; ls /proc | grep "^[0-9]"']);
  const r = runOnce(b);
  assert.equal(r.status, 0, r.stderr);
  const [mounts, pids] = r.stdout.split('PIDS\n');
  assert.doesNotMatch(mounts!, /\/work|\/home|\/var\/lib|\/boot/);
  const mountPoints = mounts!.trim().split('\n').map((l) => l.split(' ')[4]);
  assert.ok(mountPoints.includes('/proc') && mountPoints.includes('/dev'), mounts);
  const visible = pids!.trim().split('\n').map(Number);
  assert.ok(visible.every((p) => p < 10), `host pids visible: ${visible.join(',')}`);
  assert.ok(visible.includes(1));
});

test('capabilities in /proc/self/status equal the config', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/grep', '^Cap', '/proc/self/status']);
  const caps = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW'];
  b.spec.process!.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] };
  const r = runOnce(b);
  assert.equal(r.status, 0, r.stderr);
  const mask = ((1n << 0n) | (1n << 5n) | (1n << 13n)).toString(16).padStart(16, '0');
  for (const set of ['CapBnd', 'CapEff', 'CapPrm']) assert.match(r.stdout, new RegExp(`${set}:\\t${mask}\\n`), r.stdout);
  assert.match(r.stdout, /CapInh:\t0{16}/);
});

test('a non-root user gets its uid, gid, groups and no capabilities', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/sh', '-c', 'id -u; id -g; id -G; grep CapEff /proc/self/status']);
  b.spec.process!.user = { uid: 1234, gid: 4321, additionalGids: [77] };
  const r = runOnce(b);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^1234\n4321\n4321 77\nCapEff:\t0{16}\n$/);
});

test('a seccomp rule returns its errno, with argument conditions', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/sh', '-c', 'mkdir /tmp/x; echo mkdir=$?; kill -0 $$; echo kill0=$?; kill -USR1 $$; echo usr1=$?']);
  b.spec.linux!.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 122 },
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 10, op: 'SCMP_CMP_EQ' }] },
    ],
  };
  b.spec.root!.readonly = false;
  const r = runOnce(b);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /mkdir: can't create directory '\/tmp\/x': Disk quota exceeded/);
  assert.match(r.stdout, /mkdir=1\nkill0=0\nusr1=1\n/);
  assert.match(r.stderr, /Operation not permitted/);
});

test('a memory limit OOM-kills the container', (t) => {
  if (!requireRuntime(t)) return;
  // tail keeps the endless line from /dev/zero in memory until the limit is hit.
  const b = busyboxBundle(t, ['/bin/tail', '/dev/zero']);
  b.spec.linux!.resources = { ...b.spec.linux!.resources, memory: { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 } };
  const r = runOnce(b);
  assert.equal(r.status, 137, r.stderr);
});

test('a pids limit stops a fork bomb', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/sh', '-c', '(i=0; while [ $i -lt 100 ]; do sleep 30 & i=$((i+1)); done) 2>/dev/null; set -- /proc/[0-9]*; echo $#']);
  b.spec.linux!.resources = { ...b.spec.linux!.resources, pids: { limit: 16 } };
  const r = runOnce(b);
  assert.equal(r.status, 0, r.stderr);
  const count = Number(r.stdout.trim());
  assert.ok(count <= 16 && count > 2, `processes inside: ${count}`);
});

test('a read-only root refuses writes; a writable one accepts them', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/sh', '-c', 'touch /newfile']);
  const ro = runOnce(b);
  assert.notEqual(ro.status, 0);
  assert.match(ro.stderr, /Read-only file system/);
  assert.ok(!existsSync(join(b.rootfs, 'newfile')));
  b.spec.root!.readonly = false;
  assert.equal(runOnce(b).status, 0);
  assert.ok(existsSync(join(b.rootfs, 'newfile')));
});

test('masked paths read empty and read-only paths refuse writes', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/sh', '-c', 'wc -c < /proc/keys; wc -c < /proc/timer_list; ls /sys/firmware | wc -l; echo x > /proc/sys/kernel/domainname; echo w=$?']);
  const r = runOnce(b);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^0\n0\n0\nw=1\n$/);
  assert.match(r.stderr, /Read-only file system/);
});

test('a host fd opened before run is not visible inside; --preserve-fds passes it on purpose', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/sh', '-c', 'for f in /proc/self/fd/*; do readlink $f; done; true']);
  const secret = join(b.dir, 'host-secret.txt');
  execFileSync('sh', ['-c', `echo secret > ${secret}`]);
  const fd = openSync(secret, 'r');
  t.after(() => closeSync(fd));
  const leaked = runOnce(b, { stdio: ['ignore', 'pipe', 'pipe', fd] });
  assert.equal(leaked.status, 0, leaked.stderr);
  assert.doesNotMatch(leaked.stdout, /host-secret/);
  b.write();
  const kept = runtime(b, ['run', '--preserve-fds', '1', 'keepfd'], { stdio: ['ignore', 'pipe', 'pipe', fd] });
  assert.equal(kept.status, 0, kept.stderr);
  assert.match(kept.stdout, /host-secret/);
});

test('the working directory is inside the rootfs, created when missing', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/sh', '-c', 'pwd; readlink /proc/self/cwd; ls -d /proc/self/cwd/../../bin']);
  b.spec.process!.cwd = '/work/dir';
  const r = runOnce(b);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '/work/dir\n/work/dir\n/proc/self/cwd/../../bin\n');
  assert.ok(existsSync(join(b.rootfs, 'work/dir')));
});

test('mount targets resolve inside the rootfs even through a symlink pointing out', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/cat', '/escape/marker']);
  const outside = join(b.dir, '..', 'outside');
  mkdirSync(outside);
  symlinkSync(outside, join(b.rootfs, 'escape'));
  const src = join(b.dir, 'src');
  mkdirSync(src);
  execFileSync('sh', ['-c', `echo inside > ${src}/marker`]);
  b.spec.mounts!.push({ destination: '/escape', type: 'bind', source: src, options: ['bind', 'ro'] });
  const r = runOnce(b);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'inside\n');
  assert.deepEqual(readdirSync(outside), [], 'the bind mount landed outside the rootfs');
});

test('/proc as a symlink is refused', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/true']);
  rmSync(join(b.rootfs, 'proc'), { recursive: true });
  symlinkSync('/tmp', join(b.rootfs, 'proc'));
  const r = runOnce(b);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /berth-runc: .*\/proc.*symlink/);
  assert.equal(runtime(b, ['list', '-q']).stdout, '', 'a failed create left state behind');
});

test('the runtime executable cannot be opened for writing from inside', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/true']);
  b.write();
  const before = createHash('sha256').update(readFileSync(helperPath)).digest('hex');
  assert.equal(runtime(b, ['create', 'exe'], detachedStdio).status, 0);
  const pid = JSON.parse(runtime(b, ['state', 'exe']).stdout).pid as number;
  // Until start, the init inside the container is the runtime's helper: attack it from within the container.
  const inside = spawnSync('nsenter', ['-t', String(pid), '-m', '-p', '/bin/sh', '-c', 'readlink /proc/1/exe; (echo x >> /proc/1/exe) && echo WROTE; true'], { encoding: 'utf8' });
  assert.equal(inside.status, 0, inside.stderr);
  assert.match(inside.stdout, /memfd:berth-runc-init/);
  assert.doesNotMatch(inside.stdout, /WROTE/);
  assert.equal(createHash('sha256').update(readFileSync(helperPath)).digest('hex'), before);
  assert.equal(runtime(b, ['delete', '--force', 'exe']).status, 0);
});

test('create, start, state, kill, delete follow the lifecycle and delete leaves nothing behind', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/sleep', '60']);
  b.write();
  const pidFile = join(b.dir, 'pid');
  assert.equal(runtime(b, ['create', '--pid-file', pidFile, 'life'], detachedStdio).status, 0);
  const created = JSON.parse(runtime(b, ['state', 'life']).stdout);
  assert.equal(created.status, 'created');
  assert.equal(created.id, 'life');
  assert.equal(created.bundle, b.dir);
  assert.equal(Number(readFileSync(pidFile, 'utf8')), created.pid);
  assert.equal(runtime(b, ['create', 'life']).status, 1, 'a second create with the same id must fail');
  assert.equal(runtime(b, ['start', 'life']).status, 0);
  assert.equal(JSON.parse(runtime(b, ['state', 'life']).stdout).status, 'running');
  const startAgain = runtime(b, ['start', 'life']);
  assert.equal(startAgain.status, 1);
  assert.match(startAgain.stderr, /^berth-runc: .*running/);
  const del = runtime(b, ['delete', 'life']);
  assert.equal(del.status, 1);
  assert.match(del.stderr, /not stopped/);
  const list = JSON.parse(runtime(b, ['list', '--format', 'json']).stdout) as { id: string; status: string }[];
  assert.deepEqual(list.map((c) => [c.id, c.status]), [['life', 'running']]);
  assert.equal(runtime(b, ['kill', 'life', 'KILL']).status, 0);
  for (let i = 0; i < 100 && JSON.parse(runtime(b, ['state', 'life']).stdout).status !== 'stopped'; i++) execFileSync('sleep', ['0.05']);
  assert.equal(JSON.parse(runtime(b, ['state', 'life']).stdout).status, 'stopped');
  assert.equal(runtime(b, ['kill', 'life']).status, 1, 'kill of a stopped container fails');
  assert.equal(runtime(b, ['delete', 'life']).status, 0);
  assert.ok(!existsSync(join(b.root, 'life')), 'state left behind');
  for (const root of cgroupRoots) assert.ok(!existsSync(join(root, b.spec.linux!.cgroupsPath!)), `cgroup left in ${root}`);
  assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(b.rootfs));
  const missing = runtime(b, ['state', 'life']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^berth-runc: container does not exist: life\n$/);
});

test('the container starts inside its cgroup in every hierarchy, v1 and v2; an exec joins it too', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/sleep', '60']);
  b.write();
  assert.equal(runtime(b, ['create', 'cg'], detachedStdio).status, 0);
  try {
    const pid = JSON.parse(runtime(b, ['state', 'cg']).stdout).pid as number;
    const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n').filter((l) => !l.includes(':name='));
    const expected = b.spec.linux!.cgroupsPath!;
    if (existsSync('/sys/fs/cgroup/unified') || existsSync('/sys/fs/cgroup/cgroup.controllers')) assert.ok(lines.some((l) => l.startsWith('0::')), 'no v2 line although a v2 hierarchy is mounted');
    for (const line of lines) assert.ok(line.endsWith(`:${expected}`), `not in its cgroup: ${line}`);
    const exec = runtime(b, ['exec', 'cg', '/bin/cat', '/proc/self/cgroup']);
    assert.equal(exec.status, 0, exec.stderr);
    // Inside a cgroup namespace of its own the container's cgroup is the root.
    const seen = b.spec.linux!.namespaces?.some((n) => n.type === 'cgroup') ? '/' : expected;
    for (const line of exec.stdout.trim().split('\n').filter((l) => !l.includes(':name='))) assert.ok(line.endsWith(`:${seen}`), `exec not in the container's cgroup: ${line}`);
  } finally {
    runtime(b, ['delete', '--force', 'cg']);
  }
});

test('without namespaces in config.json the container inherits every one of the runtime, mounts included, and the host mount table is untouched', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/sleep', '60']);
  b.spec.linux!.namespaces = [];
  delete b.spec.hostname;
  delete b.spec.linux!.maskedPaths;
  delete b.spec.linux!.readonlyPaths;
  b.spec.root!.readonly = false;
  b.write();
  assert.equal(runtime(b, ['create', 'inherit'], detachedStdio).status, 0);
  const pid = JSON.parse(runtime(b, ['state', 'inherit']).stdout).pid as number;
  for (const ns of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts']) {
    assert.equal(readlinkSync(`/proc/${pid}/ns/${ns}`), readlinkSync(`/proc/self/ns/${ns}`), `${ns} namespace inherited`);
  }
  assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(b.dir), 'nothing of the bundle was mounted on the host');
  assert.equal(runtime(b, ['delete', '--force', 'inherit']).status, 0);
  b.spec.linux!.maskedPaths = ['/proc/kcore'];
  b.write();
  const masked = runtime(b, ['create', 'masked']);
  assert.equal(masked.status, 1);
  assert.match(masked.stderr, /^berth-runc: .*maskedPaths.*private mount namespace.*\n$/);
});

test('run --keep leaves a stopped container; delete --force removes a running one', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/true']);
  b.write();
  assert.equal(runtime(b, ['run', '--keep', 'kept']).status, 0);
  assert.equal(JSON.parse(runtime(b, ['state', 'kept']).stdout).status, 'stopped');
  assert.equal(runtime(b, ['delete', 'kept']).status, 0);
  // A detached container inherits the caller's stdio, as with runc: it must not hold the test's pipes open.
  b.spec.process!.args = ['/bin/sh', '-c', 'exec /bin/sleep 60 </dev/null >/dev/null 2>&1'];
  b.write();
  assert.equal(runtime(b, ['run', '--detach', 'bg'], detachedStdio).status, 0);
  assert.equal(JSON.parse(runtime(b, ['state', 'bg']).stdout).status, 'running');
  assert.equal(runtime(b, ['delete', '--force', 'bg']).status, 0);
  assert.equal(runtime(b, ['list', '-q']).stdout, '');
  for (const root of cgroupRoots) assert.ok(!existsSync(join(root, b.spec.linux!.cgroupsPath!)), `cgroup left in ${root}`);
});

test('bad input is one line on stderr and exit 1', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/true']);
  b.spec.process!.cwd = 'relative';
  const bad = runOnce(b);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^berth-runc: config.json: process.cwd must be an absolute path.*\n$/);
  const unknown = spawnSync(process.execPath, [berthRuncBin, '--root', b.root, 'frobnicate'], { encoding: 'utf8' });
  assert.equal(unknown.status, 1);
  assert.equal(unknown.stderr.split('\n').length, 2);
});

test('all six hooks run in order, in the runtime or the container namespace as the spec says, with the state on stdin', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/sh', '-c', 'cat /tmp/start-hook']);
  b.spec.root!.readonly = false;
  const out = join(b.dir, 'hooks.log');
  const hostHook = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `echo ${name} $(readlink /proc/self/ns/mnt) $(cat) >> ${out}`] });
  b.spec.hooks = {
    prestart: [hostHook('prestart')],
    createRuntime: [hostHook('createRuntime')],
    createContainer: [hostHook('createContainer')],
    // startContainer's path resolves inside the container: this /bin/sh is the rootfs' busybox.
    startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo startContainer $(readlink /proc/self/ns/mnt) > /tmp/start-hook'] }],
    poststart: [hostHook('poststart')],
    poststop: [hostHook('poststop')],
  };
  const r = runOnce(b, {}, 'hooked');
  assert.equal(r.status, 0, r.stderr);
  const hostNs = execFileSync('readlink', ['/proc/self/ns/mnt'], { encoding: 'utf8' }).trim();
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => l.split(' '));
  assert.deepEqual(lines.map((l) => l[0]), ['prestart', 'createRuntime', 'createContainer', 'poststart', 'poststop']);
  const containerNs = r.stdout.trim().split(' ')[1];
  assert.ok(containerNs && containerNs !== hostNs);
  assert.deepEqual(lines.map((l) => l[1] === hostNs), [true, true, false, true, true], 'createContainer runs in the container mount namespace, the rest in the runtime one');
  assert.equal(lines[2]![1], containerNs);
  const state = JSON.parse(lines[0]!.slice(2).join(' ')) as { id: string; pid: number; bundle: string };
  assert.equal(state.id, 'hooked');
  assert.equal(state.bundle, b.dir);
  assert.ok(state.pid > 1);
  assert.equal(JSON.parse(lines[2]!.slice(2).join(' ')).pid, state.pid, 'the container side splices in the same host pid');
});

test('a failing createRuntime hook stops create and leaves nothing behind', (t) => {
  if (!requireRuntime(t)) return;
  const b = busyboxBundle(t, ['/bin/true']);
  b.spec.hooks = { createRuntime: [{ path: '/bin/false' }] };
  const r = runOnce(b, {}, 'failhook');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^berth-runc: createRuntime hook \/bin\/false exited with 1\n$/);
  assert.equal(runtime(b, ['list', '-q']).stdout, '');
  for (const root of cgroupRoots) assert.ok(!existsSync(join(root, b.spec.linux!.cgroupsPath!)), `cgroup left in ${root}`);
});
