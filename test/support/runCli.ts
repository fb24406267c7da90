import { spawn, spawnSync } from 'node:child_process';
import { berthBin } from './peers.js';

export interface RunResult {
  /** Exit status; 128 + signal number style values are not guessed: a process killed by a signal gives -1. */
  status: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Added to (or, when undefined, removed from) the environment of this process. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Written to the child's stdin; without it stdin is /dev/null. */
  input?: string;
  /** Killed with SIGKILL after this long (default 120 s), so a hang fails instead of stalling the suite. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;

/** Passphrases are never taken from the caller's environment: a test that wants one passes it in `env`. */
function environment(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.COSIGN_PASSWORD;
  delete env.BERTH_PASSWORD;
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Run a program to completion, blocking; never throws for a non-zero exit. */
export function runSync(command: string, args: string[], options: RunOptions = {}): RunResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: environment(options.env),
    input: options.input,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  if (result.error && result.status === null && result.signal === null) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Run a program without blocking the event loop (needed when a registry runs in this process); never throws for a non-zero exit. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: environment(options.env), stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (options.input !== undefined) child.stdin!.end(options.input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** The built berth CLI run as installed (`dist/bin/berth.js ARGS`: its first line starts Node), blocking. */
export function berth(args: string[], options: RunOptions = {}): RunResult {
  return runSync(berthBin, args, options);
}

/** The built berth CLI, as installed, without blocking the event loop. */
export function berthAsync(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return run(berthBin, args, options);
}

/** The result, or an error naming `what` with the program's message when it exited non-zero. */
export async function ok(result: Promise<RunResult> | RunResult, what: string): Promise<RunResult> {
  const r = await result;
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}
