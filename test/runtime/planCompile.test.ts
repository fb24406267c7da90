import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isBerthError } from '../../src/errors/BerthError.js';
import { parseArgs } from '../../src/runtime/cli/parseArgs.js';
import { compileCreatePlan } from '../../src/runtime/plan/compilePlan.js';
import { compileSeccomp } from '../../src/runtime/seccomp/compileSeccomp.js';
import { encodePlan } from '../../src/runtime/plan/encodePlan.js';
import { MS, parseMountOptions } from '../../src/runtime/plan/mountOptions.js';
import { Op, type PlanStep } from '../../src/runtime/plan/ops.js';
import { defaultSpec } from '../../src/runtime/spec/defaultSpec.js';
import { validateSpec } from '../../src/runtime/spec/loadSpec.js';
import type { Spec } from '../../src/oci/runtimeSpec.js';

const opsHeader = new URL('../../../src/runtime/native/ops.h', import.meta.url);

function plan(spec: Spec): PlanStep[] {
  const seccomp = spec.linux?.seccomp ? compileSeccomp(spec.linux.seccomp) : undefined;
  return compileCreatePlan({ seccomp, spec: validateSpec(spec), rootfs: '/b/rootfs', bundleDir: '/b', fifoPath: '/s/exec.fifo', cgroupProcs: ['/sys/fs/cgroup/pids/x/cgroup.procs'] });
}

function nonTerminal(): Spec {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  return spec;
}

test('the TypeScript op codes match the C header', () => {
  const header = readFileSync(opsHeader, 'utf8');
  const fromC = Object.fromEntries([...header.matchAll(/#define OP_(\w+) (\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
  assert.deepEqual(fromC, { ...Op });
});

test('the default spec compiles to the steps in runtime order', () => {
  const ops = plan(nonTerminal()).map((s) => s.op);
  const order = (op: string) => ops.indexOf(op as PlanStep['op']);
  assert.deepEqual(ops.slice(0, 2), ['OPEN_FIFO', 'CGROUP_JOIN'], 'host paths are opened before any namespace is joined');
  assert.ok(order('CLONE') < order('ROOTFS'));
  assert.ok(order('MOUNT') < order('PIVOT_ROOT') && order('MKNOD') < order('PIVOT_ROOT'));
  assert.ok(order('PIVOT_ROOT') < order('MASK') && order('MASK') < order('READONLY') && order('READONLY') < order('ROOT_READONLY'));
  assert.ok(order('CAP_BOUNDING') < order('USER') && order('USER') < order('CAPS'), 'bounding set dropped while still root, caps set after the uid switch');
  assert.deepEqual(ops.slice(-4), ['PRESERVE_FDS', 'WAIT_FIFO', 'CLOSE_FDS', 'EXEC']);
  const clone = plan(nonTerminal()).find((s) => s.op === 'CLONE')!;
  assert.equal(Number(clone.args[0]), 0x20000000 | 0x40000000 | 0x08000000 | 0x04000000 | 0x00020000);
});

test('namespaces with a path are joined, user first, and not created', () => {
  const spec = nonTerminal();
  spec.linux!.namespaces = [{ type: 'mount' }, { type: 'network', path: '/proc/1/ns/net' }, { type: 'user', path: '/proc/1/ns/user' }];
  delete spec.hostname;
  const steps = plan(spec);
  const joins = steps.filter((s) => s.op === 'SETNS').map((s) => s.args[0]);
  assert.deepEqual(joins, ['/proc/1/ns/user', '/proc/1/ns/net']);
  assert.equal(Number(steps.find((s) => s.op === 'CLONE')!.args[0]), 0x00020000);
});

test('without a mount namespace the container keeps the runtime\'s mounts: nothing is mounted, pivoted or masked', () => {
  const spec = nonTerminal();
  spec.linux!.namespaces = [];
  delete spec.hostname;
  delete spec.linux!.maskedPaths;
  delete spec.linux!.readonlyPaths;
  spec.root!.readonly = false;
  spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
  assert.throws(() => plan(spec), /own network namespace/, 'a sysctl of the host\'s network namespace is refused');
  delete spec.linux!.sysctl;
  const ops = plan(spec).map((s) => s.op);
  for (const op of ['ROOT_PROPAGATION', 'ROOTFS', 'MOUNT', 'MKNOD', 'SYMLINK', 'MKDIR', 'PIVOT_ROOT', 'NO_PIVOT', 'MASK', 'READONLY', 'ROOT_READONLY']) {
    assert.ok(!ops.includes(op as PlanStep['op']), `${op} would change the host's mounts`);
  }
  assert.equal(Number(plan(spec).find((s) => s.op === 'CLONE')!.args[0]), 0, 'no namespace is created');
  spec.root!.readonly = true;
  assert.throws(() => plan(spec), /read-only root .*: only with a private mount namespace/);
});

test('with no_new_privs the seccomp filter goes on last; without, before the user switch', () => {
  const spec = nonTerminal();
  spec.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
  let ops = plan(spec).map((s) => s.op);
  assert.deepEqual(ops.slice(-3), ['CLOSE_FDS', 'SECCOMP', 'EXEC']);
  spec.process!.noNewPrivileges = false;
  ops = plan(spec).map((s) => s.op);
  assert.ok(ops.indexOf('SECCOMP') < ops.indexOf('USER'));
});

test('a terminal needs a console socket; a hostname needs a uts namespace', () => {
  assert.throws(() => plan(defaultSpec()), (e) => isBerthError(e, 'USAGE') && /console-socket/.test(e.message));
  const spec = nonTerminal();
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'uts');
  assert.throws(() => plan(spec), /uts namespace/);
  const noMount = nonTerminal();
  noMount.linux!.namespaces = noMount.linux!.namespaces!.filter((n) => n.type !== 'mount');
  assert.throws(() => plan(noMount), /mount namespace/);
  const joined = nonTerminal();
  joined.linux!.namespaces = joined.linux!.namespaces!.map((n) => (n.type === 'mount' ? { type: 'mount', path: '/proc/1/ns/mnt' } : n));
  assert.equal(plan(joined).filter((st) => st.op === 'SETNS').at(-1)?.args[0], '/proc/1/ns/mnt', 'a mount namespace joined by path is entered last');
});

test('bind mounts are bound first and remounted with their flags; relative sources resolve in the bundle', () => {
  const spec = nonTerminal();
  spec.mounts = [{ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro', 'nosuid', 'rprivate'] }];
  const mount = plan(spec).find((s) => s.op === 'MOUNT')!;
  assert.deepEqual(mount.args, ['/b/data', '/data', '', String(MS.BIND | MS.REC), '', String(MS.RDONLY | MS.NOSUID), String(MS.PRIVATE | MS.REC)]);
});

test('mount options split into flags, propagation and data', () => {
  assert.deepEqual(parseMountOptions(['nosuid', 'strictatime', 'mode=755', 'size=65536k']), { flags: MS.NOSUID | MS.STRICTATIME, propagation: 0, data: 'mode=755,size=65536k' });
  assert.deepEqual(parseMountOptions(['ro', 'rw', 'rslave']), { flags: 0, propagation: MS.SLAVE | MS.REC, data: '' });
  assert.throws(() => parseMountOptions(['rro']), (e) => isBerthError(e, 'UNSUPPORTED'));
});

test('config.json validation refuses what would be acted on wrongly', () => {
  const bad: [string, (s: Spec) => void, RegExp][] = [
    ['relative cwd', (s) => (s.process!.cwd = 'tmp'), /process.cwd must be an absolute path/],
    ['empty args', (s) => (s.process!.args = []), /process.args must not be empty/],
    ['negative uid', (s) => (s.process!.user.uid = -1), /process.user.uid/],
    ['duplicate namespace', (s) => s.linux!.namespaces!.push({ type: 'pid' }), /lists "pid" twice/],
    ['unknown capability', (s) => (s.process!.capabilities!.bounding = ['CAP_FLY']), /unknown capability "CAP_FLY"/],
    ['soft above hard', (s) => (s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 5 }]), /soft limit exceeds hard/],
    ['sysctl path escape', (s) => (s.linux!.sysctl = { '../../etc/x': '1' }), /not a sysctl name/],
    ['host-wide sysctl', (s) => (s.linux!.sysctl = { 'kernel.panic': '1' }), /"kernel.panic" is not namespaced/],
    ['net sysctl, host network', (s) => ((s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' }), (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'network'))), /own network namespace/],
    ['masked paths, host mounts', (s) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount')), /maskedPaths .*: only with a private mount namespace/],
    ['old version', (s) => (s.ociVersion = '0.9.0'), /ociVersion/],
  ];
  for (const [what, mutate, message] of bad) {
    const spec = nonTerminal();
    mutate(spec);
    assert.throws(() => plan(spec), (e) => isBerthError(e) && message.test(e.message), what);
  }
});

test('the plan encoding is length-prefixed records the C side can walk', () => {
  const bytes = encodePlan([{ op: 'ARG', args: ['a b', new Uint8Array([0, 1])] }, { op: 'EXEC', args: [] }]);
  assert.equal(bytes.readUInt32LE(0), bytes.length - 4);
  assert.equal(bytes.readUInt32LE(4), Op.ARG);
  assert.equal(bytes.readUInt32LE(8), 2);
  assert.equal(bytes.readUInt32LE(12), 3);
  assert.equal(bytes.subarray(16, 19).toString(), 'a b');
  assert.equal(bytes.readUInt32LE(19), 2);
  assert.equal(bytes.readUInt32LE(25), Op.EXEC);
});

test('command-line parsing stops at the first positional, as runc does', () => {
  const parsed = parseArgs(['-t', '--cwd=/x', '--env', 'A=1', '-e', 'B=2', 'ID', 'sh', '-c', 'echo'], { string: ['cwd'], multi: ['env'], boolean: ['tty'], alias: { t: 'tty', e: 'env' } }, 'exec');
  assert.deepEqual(parsed, { flags: { tty: true, cwd: '/x', env: ['A=1', 'B=2'] }, positionals: ['ID', 'sh', '-c', 'echo'] });
  assert.throws(() => parseArgs(['--bogus', 'ID'], {}, 'start'), /flag provided but not defined: --bogus/);
});
