import { spawn } from 'node:child_process';
import { BerthError } from '../errors/BerthError.js';
import type { Credentials } from './types.js';

/**
 * Talk to a docker credential helper (`docker-credential-NAME get|store|erase`)
 * the way docker does: the server URL or a JSON document on stdin, JSON on stdout.
 */
export async function helperGet(helper: string, serverURL: string): Promise<Credentials | undefined> {
  const { code, stdout } = await runHelper(helper, 'get', serverURL);
  if (code !== 0) {
    // Helpers say "credentials not found in native keychain" with a non-zero status: not an error for lookup.
    if (/not found/i.test(stdout)) return undefined;
    throw new BerthError('UNAUTHORIZED', `credential helper docker-credential-${helper} failed for ${serverURL}: ${firstLine(stdout) || `exit status ${code}`}`);
  }
  let doc: { Username?: unknown; Secret?: unknown };
  try {
    doc = JSON.parse(stdout) as typeof doc;
  } catch {
    throw new BerthError('UNAUTHORIZED', `credential helper docker-credential-${helper} printed something that is not JSON`);
  }
  if (typeof doc.Username !== 'string' || typeof doc.Secret !== 'string') {
    throw new BerthError('UNAUTHORIZED', `credential helper docker-credential-${helper} answered without Username/Secret`);
  }
  if (doc.Secret === '') return undefined;
  if (doc.Username === '<token>') return { kind: 'identityToken', token: doc.Secret };
  return { kind: 'basic', username: doc.Username, password: doc.Secret };
}

export async function helperStore(helper: string, serverURL: string, username: string, secret: string): Promise<void> {
  const { code, stdout } = await runHelper(helper, 'store', JSON.stringify({ ServerURL: serverURL, Username: username, Secret: secret }));
  if (code !== 0) throw new BerthError('IO_ERROR', `credential helper docker-credential-${helper} could not store ${serverURL}: ${firstLine(stdout) || `exit status ${code}`}`);
}

export async function helperErase(helper: string, serverURL: string): Promise<void> {
  const { code, stdout } = await runHelper(helper, 'erase', serverURL);
  if (code !== 0 && !/not found/i.test(stdout)) {
    throw new BerthError('IO_ERROR', `credential helper docker-credential-${helper} could not erase ${serverURL}: ${firstLine(stdout) || `exit status ${code}`}`);
  }
}

function runHelper(helper: string, action: string, input: string): Promise<{ code: number; stdout: string }> {
  if (!/^[A-Za-z0-9_.-]+$/.test(helper)) return Promise.reject(new BerthError('CONFIG_INVALID', `invalid credential helper name "${helper}"`));
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${helper}`, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => out.push(chunk));
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(new BerthError('NOT_FOUND', err.code === 'ENOENT' ? `credential helper docker-credential-${helper} is not on PATH` : `credential helper docker-credential-${helper}: ${err.message}`));
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8') }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function firstLine(text: string): string {
  return (text.trim().split('\n')[0] ?? '').slice(0, 200);
}
