import { readFileSync } from 'node:fs';
import { BerthError } from '../../errors/BerthError.js';

export interface PassphraseOptions {
  /** --passphrase-file: the first line of the file (a trailing newline is not part of it). */
  passphraseFile?: string;
  /** Defaults to process.env; COSIGN_PASSWORD (what cosign reads) wins over BERTH_PASSWORD. */
  env?: NodeJS.ProcessEnv;
}

const PASSPHRASE_ENV_VARS = ['COSIGN_PASSWORD', 'BERTH_PASSWORD'] as const;

/**
 * Where a passphrase comes from, in order: --passphrase-file, the environment
 * (an empty value is an empty passphrase, as cosign treats it), then a prompt
 * on the terminal. Without any of them signing cannot proceed unattended.
 */
export async function obtainPassphrase(purpose: string, options: PassphraseOptions, confirm = false): Promise<Buffer> {
  if (options.passphraseFile !== undefined) {
    const text = readFileSync(options.passphraseFile, 'utf8');
    return Buffer.from(text.replace(/\r?\n$/, '').split(/\r?\n/)[0] ?? '', 'utf8');
  }
  const env = options.env ?? process.env;
  for (const name of PASSPHRASE_ENV_VARS) {
    const value = env[name];
    if (value !== undefined) return Buffer.from(value, 'utf8');
  }
  if (!process.stdin.isTTY) {
    throw new BerthError('USAGE', `a passphrase is needed for ${purpose}: use --passphrase-file, COSIGN_PASSWORD/BERTH_PASSWORD, or a terminal`);
  }
  const first = await promptHidden(`Enter passphrase for ${purpose}: `);
  if (confirm) {
    const second = await promptHidden('Enter passphrase again: ');
    if (first !== second) throw new BerthError('USAGE', 'passphrases do not match');
  }
  return Buffer.from(first, 'utf8');
}

/** Read one line from the terminal without echoing it. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let answer = '';
    stdin.setRawMode(true);
    stdin.resume();
    const finish = (err?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(answer);
    };
    const onData = (chunk: Buffer): void => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003') return finish(new BerthError('USAGE', 'interrupted'));
        if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
        else answer += char;
      }
    };
    stdin.on('data', onData);
  });
}
