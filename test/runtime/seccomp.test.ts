import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBerthError } from '../../src/errors/BerthError.js';
import { compileSeccomp } from '../../src/runtime/seccomp/compileSeccomp.js';
import { syscallsX86 } from '../../src/runtime/seccomp/syscallsX86.js';
import { syscallsX86_64 } from '../../src/runtime/seccomp/syscallsX86_64.js';
import type { SeccompSpec } from '../../src/oci/runtimeSpec.js';

const AUDIT_X86_64 = 0xc000003e;
const AUDIT_I386 = 0x40000003;
const AUDIT_AARCH64 = 0xc00000b7;

/** A classic-BPF interpreter for the instructions the compiler emits: the kernel's view of the program. */
function evaluate(program: Uint8Array, arch: number, nr: number, args: bigint[] = []): number {
  const buf = Buffer.from(program);
  const data = Buffer.alloc(64);
  data.writeUInt32LE(nr >>> 0, 0);
  data.writeUInt32LE(arch >>> 0, 4);
  args.forEach((a, i) => data.writeBigUInt64LE(a, 16 + 8 * i));
  let acc = 0;
  for (let pc = 0; pc < buf.length / 8; pc++) {
    const code = buf.readUInt16LE(pc * 8);
    const jt = buf.readUInt8(pc * 8 + 2);
    const jf = buf.readUInt8(pc * 8 + 3);
    const k = buf.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case 0x20: acc = data.readUInt32LE(k); break;
      case 0x54: acc = (acc & k) >>> 0; break;
      case 0x05: pc += k; break;
      case 0x15: pc += acc === k ? jt : jf; break;
      case 0x25: pc += acc > k ? jt : jf; break;
      case 0x35: pc += acc >= k ? jt : jf; break;
      case 0x06: return k >>> 0;
      default: throw new Error(`unexpected opcode ${code}`);
    }
  }
  throw new Error('fell off the end of the program');
}

const ALLOW = 0x7fff0000;
const KILL_PROCESS = 0x80000000;
const errno = (e: number) => (0x00050000 | e) >>> 0;

const profile: SeccompSpec = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 38,
  architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
  syscalls: [
    { names: ['read', 'write', 'exit_group', 'no_such_syscall'], action: 'SCMP_ACT_ALLOW' },
    { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0xffffffff, op: 'SCMP_CMP_EQ' }] },
    { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
    { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 122 },
    { names: ['kill'], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: 1, value: 2 ** 33, op: 'SCMP_CMP_GT' }] },
    { names: ['dup3'], action: 'SCMP_ACT_ALLOW', args: [{ index: 2, value: 5, op: 'SCMP_CMP_LT' }, { index: 0, value: 3, op: 'SCMP_CMP_NE' }] },
  ],
};

test('allowed, errno and default actions per syscall', () => {
  const { program } = compileSeccomp(profile);
  assert.equal(evaluate(program, AUDIT_X86_64, syscallsX86_64.read!), ALLOW);
  assert.equal(evaluate(program, AUDIT_X86_64, syscallsX86_64.mkdir!), errno(122));
  assert.equal(evaluate(program, AUDIT_X86_64, syscallsX86_64.unshare!), errno(38), 'unlisted syscall takes the default errno');
  assert.equal(evaluate(program, AUDIT_I386, syscallsX86.write!), ALLOW, 'i386 uses its own numbers');
  assert.equal(evaluate(program, AUDIT_I386, syscallsX86.mkdir!), errno(122));
});

test('argument conditions compare all 64 bits', () => {
  const { program } = compileSeccomp(profile);
  const p = syscallsX86_64.personality!;
  assert.equal(evaluate(program, AUDIT_X86_64, p, [0xffffffffn]), ALLOW);
  assert.equal(evaluate(program, AUDIT_X86_64, p, [0x1ffffffffn]), errno(38), 'high word differs');
  assert.equal(evaluate(program, AUDIT_X86_64, p, [0n]), errno(38));
  const clone = syscallsX86_64.clone!;
  assert.equal(evaluate(program, AUDIT_X86_64, clone, [0x11n]), ALLOW);
  assert.equal(evaluate(program, AUDIT_X86_64, clone, [0x10000000n]), errno(38), 'CLONE_NEWUSER is masked in');
  const kill = syscallsX86_64.kill!;
  assert.equal(evaluate(program, AUDIT_X86_64, kill, [1n, 2n ** 33n + 1n]), KILL_PROCESS);
  assert.equal(evaluate(program, AUDIT_X86_64, kill, [1n, 2n ** 33n]), errno(38), 'GT is strict');
  assert.equal(evaluate(program, AUDIT_X86_64, kill, [1n, 9n]), errno(38));
  const dup3 = syscallsX86_64.dup3!;
  assert.equal(evaluate(program, AUDIT_X86_64, dup3, [4n, 0n, 4n]), ALLOW);
  assert.equal(evaluate(program, AUDIT_X86_64, dup3, [3n, 0n, 4n]), errno(38), 'both conditions must hold');
  assert.equal(evaluate(program, AUDIT_X86_64, dup3, [4n, 0n, 5n]), errno(38));
  assert.equal(evaluate(program, AUDIT_X86_64, dup3, [4n, 0n, 2n ** 32n]), errno(38), 'LT looks at the high word');
});

test('unlisted architectures and x32 calls are killed', () => {
  const { program } = compileSeccomp(profile);
  assert.equal(evaluate(program, AUDIT_AARCH64, 63), KILL_PROCESS);
  assert.equal(evaluate(program, AUDIT_X86_64, 0x40000000 | syscallsX86_64.read!), KILL_PROCESS);
  const withX32 = compileSeccomp({ ...profile, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'] }).program;
  assert.equal(evaluate(withX32, AUDIT_X86_64, 0x40000000 | syscallsX86_64.mkdir!), errno(122), 'x32 gets the same rules');
});

test('a large allowlist stays within the kernel limit and flags map', () => {
  const all = Object.keys(syscallsX86_64);
  const compiled = compileSeccomp({ defaultAction: 'SCMP_ACT_KILL', flags: ['SECCOMP_FILTER_FLAG_LOG'], syscalls: [{ names: all, action: 'SCMP_ACT_ALLOW' }] });
  assert.ok(compiled.instructions < 4096);
  assert.equal(compiled.flags, 2);
  assert.equal(evaluate(compiled.program, AUDIT_X86_64, syscallsX86_64.futex_waitv!), ALLOW);
  assert.equal(evaluate(compiled.program, AUDIT_X86_64, 1000), 0, 'SCMP_ACT_KILL kills the thread');
});

test('unknown actions and operators are refused', () => {
  assert.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_MAYBE' }), (e) => isBerthError(e, 'CONFIG_INVALID'));
  assert.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_NOTIFY' }] }), (e) => isBerthError(e, 'UNSUPPORTED'));
  assert.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_ABOUT' }] }] }), /unknown seccomp comparison/);
});
