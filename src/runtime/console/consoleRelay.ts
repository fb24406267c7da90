import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { consoleRelayBinary } from '../lifecycle/helperBinary.js';

export interface RelayExit {
  status: number;
  /** The relay's last line on stderr ("" when it had nothing to say). */
  message: string;
}

export interface ConsoleRelay {
  /** Give this to the runtime as its --console-socket. */
  socketPath: string;
  /** Resolves when the relay has exited (0: the pty closed and its output was written). */
  finished: Promise<RelayExit>;
  /** Wait up to graceMs for the relay to finish on its own, then stop it; remove its directory. */
  close(graceMs?: number): Promise<RelayExit>;
  /** Let a detached relay run on after we exit (the runtime already connected); remove its directory. */
  leave(): void;
}

const readyTimeoutMs = 10_000;

/**
 * Start berth-console-relay on a socket in a private (0700) temp dir and wait until it listens.
 * Node cannot receive the pty master (no SCM_RIGHTS in node:net); the relay takes it and copies
 * bytes between the pty and this process's stdio (stdin only when readStdin).
 */
export async function startConsoleRelay(options: { readStdin: boolean; detachedOutput?: number }): Promise<ConsoleRelay> {
  const binary = consoleRelayBinary();
  const dir = mkdtempSync(join(tmpdir(), 'berth-console-'));
  const socketPath = join(dir, 'console.sock');
  const out = options.detachedOutput;
  // Detached (berth run -d -t): its own session, output and errors into the container's log.
  const child = spawn(binary, [...(options.readStdin && out === undefined ? [] : ['--no-stdin']), socketPath], {
    stdio: out !== undefined ? ['ignore', out, out] : [options.readStdin ? 'inherit' : 'ignore', 'inherit', 'pipe'],
    detached: out !== undefined,
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  let exited = false;
  const finished = new Promise<RelayExit>((resolve) => {
    const done = (status: number) => {
      exited = true;
      const message = stderr.trim().split('\n').pop() ?? '';
      resolve({ status, message });
    };
    child.on('error', (err) => {
      stderr += `cannot start ${binary}: ${err.message}\n`;
      done(127);
    });
    child.on('close', (code, signal) => done(code ?? (signal === 'SIGTERM' ? 143 : 128)));
  });
  const close = async (graceMs = 0): Promise<RelayExit> => {
    if (!exited && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([finished, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    if (!exited) child.kill('SIGTERM');
    const result = await finished;
    rmSync(dir, { recursive: true, force: true });
    return result;
  };
  const leave = () => {
    child.unref();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await listening(dir, socketPath, finished);
  } catch (err) {
    await close();
    throw err;
  }
  return { socketPath, finished, close, leave };
}

/** The relay renames its socket into place once it listens: the path existing means it is ready. */
function listening(dir: string, socketPath: string, finished: Promise<RelayExit>): Promise<void> {
  return new Promise((resolve, reject) => {
    const watcher = watch(dir);
    const timer = setTimeout(() => stop(new BerthError('RUNTIME_ERROR', 'berth-console-relay did not start listening within 10 s')), readyTimeoutMs);
    let settled = false;
    const stop = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      watcher.close();
      if (err) reject(err);
      else resolve();
    };
    watcher.on('change', () => {
      if (existsSync(socketPath)) stop();
    });
    watcher.on('error', (err) => stop(new BerthError('RUNTIME_ERROR', `watching ${dir}: ${err.message}`)));
    void finished.then((r) => stop(new BerthError('RUNTIME_ERROR', r.message || `berth-console-relay exited with status ${r.status}`)));
    if (existsSync(socketPath)) stop();
  });
}
