import { BerthError } from '../../errors/BerthError.js';
import type { CompiledSeccomp } from '../seccomp/compileSeccomp.js';
import type { ProcessSpec, Spec } from '../../oci/runtimeSpec.js';
import { consoleSize, processSteps } from './compilePlan.js';
import { joinOrder, namespaceKind } from './namespaces.js';
import type { PlanStep } from './ops.js';

export interface ExecPlanInput {
  spec: Spec;
  /** Host pid of the container's init: its /proc/PID/ns/* are joined. */
  pid: number;
  process: ProcessSpec;
  cgroupProcs: string[];
  consoleSocket?: string;
  preserveFds?: number;
  seccomp?: CompiledSeccomp;
}

/** A process inside a running container: join every namespace and the cgroup of its init, then set up and exec. */
export function compileExecPlan(input: ExecPlanInput): PlanStep[] {
  const steps: PlanStep[] = [];
  if (input.process.apparmorProfile || input.process.selinuxLabel) throw new BerthError('UNSUPPORTED', 'berth-runc does not apply AppArmor profiles or SELinux labels');
  const types = new Set((input.spec.linux?.namespaces ?? []).map((n) => n.type));
  // cgroup paths are host paths: join before entering the container's mount namespace.
  for (const file of input.cgroupProcs) steps.push({ op: 'CGROUP_JOIN', args: [file] });
  for (const type of joinOrder) {
    if (!types.has(type)) continue;
    const kind = namespaceKind(type);
    steps.push({ op: 'SETNS', args: [`/proc/${input.pid}/ns/${kind.proc}`, String(kind.flag)] });
  }
  if (input.process.terminal) {
    if (!input.consoleSocket) throw new BerthError('USAGE', 'exec with a terminal needs --console-socket');
    steps.push({ op: 'CONSOLE_SOCKET', args: [input.consoleSocket] });
  }
  steps.push({ op: 'CLONE', args: ['0'] });
  steps.push(input.process.terminal ? { op: 'CONSOLE_SETUP', args: consoleSize(input.process) } : { op: 'SETSID', args: [] });
  steps.push(...processSteps(input.process, { preserveFds: input.preserveFds ?? 0, extraEnv: [], seccomp: input.seccomp, waitFifo: false }));
  return steps;
}
