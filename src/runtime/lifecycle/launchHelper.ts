import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Socket } from 'node:net';
import { BerthError, type ErrorCode } from '../../errors/BerthError.js';
import { encodePlan } from '../plan/encodePlan.js';
import type { PlanStep } from '../plan/ops.js';
import { helperBinary } from './helperBinary.js';

export interface LaunchedHelper {
  child: ChildProcess;
  /** Host pid of the container process. */
  pid: number;
  /** Resolves with the helper's exit status (run/exec: the container process's status). */
  exited: Promise<number>;
  /** Resolves when the process is set up (waiting on the exec fifo, or about to exec). */
  ready: Promise<void>;
}

/**
 * Start the C helper, hand it the plan, and follow its report: "pid N", then "ready" or "error MESSAGE".
 * stdio: the container's stdin/out/err plus preserved fds; the sync socket goes right after them.
 */
export function launchHelper(
  steps: PlanStep[],
  mode: 'create' | 'run' | 'exec',
  stdio: (number | 'pipe' | 'ignore' | 'inherit')[],
  /** Runs when the plan reaches SYNC_HOOKS; returns a failure message to stop the container. */
  onHooks?: (pid: number) => string | undefined,
  /** run mode only: the helper, in a session of its own, outlives the caller and writes the exit status here. */
  statusFile?: string,
): Promise<LaunchedHelper> {
  const syncIndex = stdio.length;
  const options: StdioOptions = [...stdio, 'pipe'];
  const child = spawn(helperBinary(), [String(syncIndex), mode, ...(statusFile ? [statusFile] : [])], { stdio: options, detached: statusFile !== undefined });
  if (statusFile) child.unref();
  const sync = child.stdio[syncIndex] as Socket;
  sync.write(encodePlan(steps));
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
    child.on('error', () => resolve(127));
  });
  return new Promise((resolvePid, rejectPid) => {
    let buffer = '';
    let pid = 0;
    let readyResolve: () => void = () => {};
    let readyReject: (e: Error) => void = () => {};
    const ready = new Promise<void>((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    ready.catch(() => {});
    let settled = false;
    const fail = (message: string) => {
      const error = new BerthError(setUpErrorCode(message), message);
      if (!pid) rejectPid(error);
      readyReject(error);
      settled = true;
      sync.destroy();
    };
    sync.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith('pid ')) {
          pid = Number(line.slice(4));
          resolvePid({ child, pid, exited, ready });
        } else if (line === 'hooks') {
          const failure = onHooks?.(pid);
          if (failure) fail(failure);
          else sync.write('g');
        } else if (line === 'ready') {
          settled = true;
          readyResolve();
          sync.destroy();
        } else if (line.startsWith('error ')) {
          fail(line.slice(6));
        }
      }
    });
    const early = () => {
      if (!settled) fail('the container process exited during set-up');
    };
    sync.on('end', early);
    sync.on('close', early);
    sync.on('error', early);
    child.on('error', (err) => fail(`cannot start the berth-runc helper: ${err.message}`));
  });
}

/** The helper's words for a command that cannot start (runc's, which podman maps to 127 and 126). */
function setUpErrorCode(message: string): ErrorCode {
  if (/^exec: ".*": (stat .*: no such file or directory|executable file not found in \$PATH)$/.test(message)) return 'COMMAND_NOT_FOUND';
  if (/^exec: ".*": permission denied$/.test(message)) return 'COMMAND_NOT_EXECUTABLE';
  return 'RUNTIME_ERROR';
}

function signalNumber(signal: NodeJS.Signals | null): number {
  if (!signal) return 0;
  const map: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6, SIGPIPE: 13 };
  return map[signal] ?? 0;
}
