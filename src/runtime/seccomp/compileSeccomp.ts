import { BerthError } from '../../errors/BerthError.js';
import type { SeccompRule, SeccompSpec } from '../../oci/runtimeSpec.js';
import { BPF, encodeProgram, insn, SECCOMP_DATA, type Insn } from './bpf.js';
import { syscallsX86 } from './syscallsX86.js';
import { syscallsX86_64 } from './syscallsX86_64.js';

const RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

const EPERM = 1;
const X32_BIT = 0x40000000;

interface ArchTable {
  audit: number;
  table: Record<string, number>;
}

const arches: Record<string, ArchTable> = {
  SCMP_ARCH_X86_64: { audit: 0xc000003e, table: syscallsX86_64 },
  SCMP_ARCH_X86: { audit: 0x40000003, table: syscallsX86 },
};

const filterFlags: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
};

export interface CompiledSeccomp {
  program: Uint8Array;
  flags: number;
  instructions: number;
}

export function actionValue(action: string, errnoRet: number | undefined, where: string): number {
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return RET.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return RET.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return RET.TRAP;
    case 'SCMP_ACT_ERRNO':
      return RET.ERRNO | ((errnoRet ?? EPERM) & 0xffff);
    case 'SCMP_ACT_TRACE':
      return RET.TRACE | ((errnoRet ?? EPERM) & 0xffff);
    case 'SCMP_ACT_LOG':
      return RET.LOG;
    case 'SCMP_ACT_ALLOW':
      return RET.ALLOW;
    case 'SCMP_ACT_NOTIFY':
      throw new BerthError('UNSUPPORTED', `${where}: SCMP_ACT_NOTIFY (seccomp user notification) is not supported by berth-runc`);
    default:
      throw new BerthError('CONFIG_INVALID', `config.json: ${where}: unknown seccomp action "${action}"`);
  }
}

function nativeArch(): string {
  if (process.arch === 'x64') return 'SCMP_ARCH_X86_64';
  throw new BerthError('UNSUPPORTED', `seccomp: berth-runc has no syscall table for ${process.arch} yet`);
}

type Target = number | 'FAIL' | 'PASS';
interface SymInsn {
  code: number;
  k: number;
  jt: Target;
  jf: Target;
}

const sym = (code: number, k: number, jt: Target = 0, jf: Target = 0): SymInsn => ({ code, k, jt, jf });

/** One 64-bit argument comparison as two 32-bit halves. Jumps to FAIL when the condition does not hold. */
function argCheck(arg: NonNullable<SeccompRule['args']>[number], where: string): SymInsn[] {
  const hi = (v: number) => Math.floor(v / 2 ** 32) >>> 0;
  const lo = (v: number) => v >>> 0;
  const v = arg.value;
  const ldHi = sym(BPF.LD_W_ABS, SECCOMP_DATA.argHigh(arg.index));
  const ldLo = sym(BPF.LD_W_ABS, SECCOMP_DATA.argLow(arg.index));
  switch (arg.op) {
    case 'SCMP_CMP_EQ':
      return [ldHi, sym(BPF.JMP_JEQ_K, hi(v), 0, 'FAIL'), ldLo, sym(BPF.JMP_JEQ_K, lo(v), 0, 'FAIL')];
    case 'SCMP_CMP_NE':
      return [ldHi, sym(BPF.JMP_JEQ_K, hi(v), 0, 'PASS'), ldLo, sym(BPF.JMP_JEQ_K, lo(v), 'FAIL', 0)];
    case 'SCMP_CMP_MASKED_EQ': {
      const want = arg.valueTwo ?? 0;
      return [
        ldHi, sym(BPF.ALU_AND_K, hi(v)), sym(BPF.JMP_JEQ_K, hi(want), 0, 'FAIL'),
        ldLo, sym(BPF.ALU_AND_K, lo(v)), sym(BPF.JMP_JEQ_K, lo(want), 0, 'FAIL'),
      ];
    }
    case 'SCMP_CMP_GT':
      return [ldHi, sym(BPF.JMP_JGT_K, hi(v), 'PASS', 0), sym(BPF.JMP_JEQ_K, hi(v), 0, 'FAIL'), ldLo, sym(BPF.JMP_JGT_K, lo(v), 0, 'FAIL')];
    case 'SCMP_CMP_GE':
      return [ldHi, sym(BPF.JMP_JGT_K, hi(v), 'PASS', 0), sym(BPF.JMP_JEQ_K, hi(v), 0, 'FAIL'), ldLo, sym(BPF.JMP_JGE_K, lo(v), 0, 'FAIL')];
    case 'SCMP_CMP_LT':
      return [ldHi, sym(BPF.JMP_JGT_K, hi(v), 'FAIL', 0), sym(BPF.JMP_JEQ_K, hi(v), 0, 'PASS'), ldLo, sym(BPF.JMP_JGE_K, lo(v), 'FAIL', 0)];
    case 'SCMP_CMP_LE':
      return [ldHi, sym(BPF.JMP_JGT_K, hi(v), 'FAIL', 0), sym(BPF.JMP_JEQ_K, hi(v), 0, 'PASS'), ldLo, sym(BPF.JMP_JGT_K, lo(v), 'FAIL', 0)];
    default:
      throw new BerthError('CONFIG_INVALID', `config.json: ${where}: unknown seccomp comparison "${arg.op}"`);
  }
}

/** A block for one syscall of one rule: [jeq nr][checks][ret action][reload nr]. */
function ruleBlock(nr: number, action: number, rule: SeccompRule, where: string, reload: Insn[]): Insn[] {
  if (!rule.args?.length) return [insn(BPF.JMP_JEQ_K, nr, 0, 1), insn(BPF.RET_K, action)];
  const body: SymInsn[] = [];
  for (const arg of rule.args) {
    const check = argCheck(arg, where);
    const start = body.length;
    body.push(...check);
    // PASS in this check means: the start of the next check.
    for (let i = start; i < body.length; i++) {
      for (const side of ['jt', 'jf'] as const) if (body[i]![side] === 'PASS') body[i]![side] = start + check.length - (i + 1);
    }
  }
  const failAt = body.length + 1; // after the ret
  const resolved = body.map((ins, i) => {
    const fix = (t: Target): number => (t === 'FAIL' ? failAt - (i + 1) : (t as number));
    return insn(ins.code, ins.k, fix(ins.jt), fix(ins.jf));
  });
  if (resolved.some((i) => i.jt > 255 || i.jf > 255)) throw new BerthError('CONFIG_INVALID', `config.json: ${where}: rule too large`);
  return [insn(BPF.JMP_JEQ_K, nr, 0, resolved.length + 1), ...resolved, insn(BPF.RET_K, action), ...reload];
}

function archSection(table: Record<string, number>, spec: SeccompSpec, defaultAction: number, x32: 'kill' | 'fold' | 'none'): Insn[] {
  // Argument checks clobber the accumulator; the syscall number is reloaded (and folded for x32) after each.
  const reload = [insn(BPF.LD_W_ABS, SECCOMP_DATA.nr), ...(x32 === 'fold' ? [insn(BPF.ALU_AND_K, ~X32_BIT >>> 0)] : [])];
  const out: Insn[] = [...reload];
  if (x32 === 'kill') out.push(insn(BPF.JMP_JGE_K, X32_BIT, 0, 1), insn(BPF.RET_K, RET.KILL_PROCESS));
  (spec.syscalls ?? []).forEach((rule, r) => {
    const where = `linux.seccomp.syscalls[${r}]`;
    const action = actionValue(rule.action, rule.errnoRet, where);
    for (const name of rule.names) {
      const nr = table[name];
      if (nr === undefined) continue; // unknown on this architecture: skipped, as runc does
      out.push(...ruleBlock(nr, action, rule, where, reload));
    }
  });
  out.push(insn(BPF.RET_K, defaultAction));
  return out;
}

/** Compile an OCI seccomp profile to a BPF program for seccomp(SECCOMP_SET_MODE_FILTER). */
export function compileSeccomp(spec: SeccompSpec): CompiledSeccomp {
  const defaultAction = actionValue(spec.defaultAction, spec.defaultErrnoRet, 'linux.seccomp.defaultAction');
  const listed = new Set(spec.architectures?.length ? spec.architectures : []);
  listed.add(nativeArch());
  const program: Insn[] = [insn(BPF.LD_W_ABS, SECCOMP_DATA.arch)];
  for (const name of ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']) {
    if (!listed.has(name)) continue;
    const arch = arches[name]!;
    const x32 = name === 'SCMP_ARCH_X86_64' ? (listed.has('SCMP_ARCH_X32') ? 'fold' : 'kill') : 'none';
    const section = archSection(arch.table, spec, defaultAction, x32);
    program.push(insn(BPF.JMP_JEQ_K, arch.audit, 1, 0), insn(BPF.JMP_JA, section.length), ...section);
  }
  program.push(insn(BPF.RET_K, RET.KILL_PROCESS));
  if (program.length > 4096) throw new BerthError('CONFIG_INVALID', `config.json: linux.seccomp compiles to ${program.length} BPF instructions (the kernel allows 4096)`);
  let flags = 0;
  for (const f of spec.flags ?? []) {
    const bit = filterFlags[f];
    if (bit === undefined) throw new BerthError('UNSUPPORTED', `seccomp flag "${f}" is not supported by berth-runc`);
    flags |= bit;
  }
  return { program: encodeProgram(program), flags, instructions: program.length };
}
