import { spawn } from 'node:child_process';
import { berthBin } from '../../support/peers.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a program and collect its output (never throws for a non-zero exit). */
export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    if (options.input !== undefined) child.stdin!.end(options.input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

export function berth(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return run(process.execPath, [berthBin, ...args], options);
}

/** skopeo with plain HTTP allowed on both sides (the test registries do not speak TLS). */
export function skopeo(binary: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return run(binary, args, options);
}

export async function ok(result: Promise<RunResult> | RunResult, what: string): Promise<RunResult> {
  const r = await result;
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}
