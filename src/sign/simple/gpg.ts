import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';

/**
 * OpenPGP through the gpg binary (Debian package gnupg), as containers/image
 * does through gpgme: berth never parses OpenPGP packets itself. Verification
 * runs in a throw-away GNUPGHOME holding only the trusted public keys, so a
 * good signature can only come from one of them.
 */
const MAX_SIGNED_PAYLOAD_BYTES = 1024 * 1024;

interface GpgResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function runGpg(args: string[], input?: Buffer, env: NodeJS.ProcessEnv = process.env): Promise<GpgResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('gpg', ['--batch', '--no-tty', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new BerthError('NOT_FOUND', 'gpg is not installed (Debian package gnupg); it is needed for OpenPGP simple signing') : e);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter((l) => !/^gpg: (WARNING: unsafe|keybox|key .* created|directory)/.test(l)).pop()?.replace(/^gpg: /, '') ?? 'gpg failed';
}

/** A GNUPGHOME that exists only for one operation; its agent (if any started) is stopped and the directory removed. */
export async function withTempGnupgHome<T>(body: (home: string) => Promise<T>): Promise<T> {
  const home = await mkdtemp(join(tmpdir(), 'berth-gpg-'));
  try {
    return await body(home);
  } finally {
    await new Promise<void>((resolve) => {
      const child = spawn('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
      child.on('error', () => resolve());
      child.on('close', () => resolve());
    });
    await rm(home, { recursive: true, force: true });
  }
}

export async function importKeys(home: string, keyData: Buffer[]): Promise<string[]> {
  for (const data of keyData) {
    const result = await runGpg(['--homedir', home, '--import'], data);
    if (result.code !== 0) throw new BerthError('KEY_INVALID', `cannot import OpenPGP key: ${lastLine(result.stderr)}`);
  }
  return listFingerprints(home, false);
}

export async function listFingerprints(home: string | undefined, secret: boolean): Promise<string[]> {
  const result = await runGpg([...(home ? ['--homedir', home] : []), '--with-colons', secret ? '--list-secret-keys' : '--list-keys']);
  if (result.code !== 0) return [];
  return result.stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l.startsWith('fpr:'))
    .map((l) => l.split(':')[9] ?? '')
    .filter(Boolean);
}

export interface GpgSignOptions {
  /** Fingerprint or key id of the signing key (skopeo --sign-by). */
  keyId: string;
  /** GNUPGHOME to use; the caller's default keyring when undefined. */
  home?: string;
  passphraseFile?: string;
}

/** Produce an OpenPGP signed message (not a detached signature) over the payload, as containers' simple signing stores it. */
export async function gpgSign(payload: Buffer, options: GpgSignOptions): Promise<Buffer> {
  const args = [...(options.home ? ['--homedir', options.home] : []), '--local-user', options.keyId, '--sign', '--output', '-'];
  if (options.passphraseFile) args.unshift('--pinentry-mode', 'loopback', '--passphrase-file', options.passphraseFile);
  const result = await runGpg(args, payload);
  if (result.code !== 0 || result.stdout.length === 0) throw new BerthError('KEY_INVALID', `gpg could not sign with ${options.keyId}: ${lastLine(result.stderr)}`);
  return result.stdout;
}

export interface GpgVerified {
  payload: Buffer;
  /** Fingerprint of the (primary) key that made the signature. */
  fingerprint: string;
}

/**
 * Verify an OpenPGP signed message against exactly the given public keys and
 * return the signed content. Anything but one good signature by a trusted key
 * fails with the reason gpg gave.
 */
export async function gpgVerify(signature: Buffer, trustedKeys: Buffer[]): Promise<GpgVerified> {
  if (trustedKeys.length === 0) throw new BerthError('POLICY_DENIED', 'no trusted OpenPGP keys given');
  return withTempGnupgHome(async (home) => {
    const trusted = new Set(await importKeys(home, trustedKeys));
    const sigFile = join(home, 'signature');
    const outFile = join(home, 'payload');
    await writeFile(sigFile, signature);
    // --max-output bounds what a compressed hostile message may expand to; no key is ever fetched from a network.
    const result = await runGpg(['--homedir', home, '--no-auto-key-retrieve', '--max-output', String(MAX_SIGNED_PAYLOAD_BYTES), '--trust-model', 'always', '--status-fd', '1', '--output', outFile, '--decrypt', sigFile]);
    const status = result.stdout.toString('utf8').split('\n').filter((l) => l.startsWith('[GNUPG:] '));
    const words = status.map((l) => l.slice('[GNUPG:] '.length).split(' '));
    const valid = words.filter((w) => w[0] === 'VALIDSIG');
    const bad = words.find((w) => w[0] === 'BADSIG');
    if (bad) throw new BerthError('SIGNATURE_INVALID', `OpenPGP signature is BAD (made by key ${bad[1]}, content altered)`);
    const missing = words.find((w) => w[0] === 'ERRSIG' || w[0] === 'NO_PUBKEY');
    if (missing) throw new BerthError('SIGNATURE_INVALID', `OpenPGP signature by key ${missing[1]}, which is not a trusted key`);
    if (result.code !== 0 || valid.length === 0) throw new BerthError('SIGNATURE_INVALID', `not a valid OpenPGP signature: ${lastLine(result.stderr)}`);
    if (valid.length !== 1) throw new BerthError('SIGNATURE_INVALID', `OpenPGP message carries ${valid.length} signatures; exactly one is accepted`);
    const fields = valid[0] as string[];
    const fingerprint = fields[10] ?? fields[1] ?? '';
    if (!trusted.has(fingerprint) && !trusted.has(fields[1] ?? '')) throw new BerthError('SIGNATURE_INVALID', `OpenPGP signature by ${fingerprint}, which is not a trusted key`);
    return { payload: await readFile(outFile), fingerprint };
  });
}

/** Import a secret key file into a temp GNUPGHOME (for --gpg-key FILE) and run `body` with it and the key's fingerprint. */
export async function withSecretKeyFile<T>(keyFile: string, body: (home: string, fingerprint: string) => Promise<T>): Promise<T> {
  const data = await readFile(keyFile).catch((err: NodeJS.ErrnoException) => {
    throw new BerthError(err.code === 'ENOENT' ? 'NOT_FOUND' : 'KEY_INVALID', `cannot read ${keyFile}: ${err.code ?? err.message}`);
  });
  return withTempGnupgHome(async (home) => {
    await importKeys(home, [data]);
    const secrets = await listFingerprints(home, true);
    if (secrets.length === 0) throw new BerthError('KEY_INVALID', `${keyFile} holds no OpenPGP secret key`);
    return body(home, secrets[0] as string);
  });
}

/** Export public keys from a keyring (the caller's when `home` is undefined), for verifying against exactly those keys. */
export async function exportPublicKeys(fingerprints: string[], home?: string): Promise<Buffer> {
  const result = await runGpg([...(home ? ['--homedir', home] : []), '--export', ...fingerprints]);
  if (result.code !== 0 || result.stdout.length === 0) throw new BerthError('KEY_INVALID', `no OpenPGP public key for ${fingerprints.join(', ')} in the keyring`);
  return result.stdout;
}
