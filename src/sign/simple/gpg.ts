import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
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
async function withTempGnupgHome<T>(body: (home: string) => Promise<T>): Promise<T> {
  const home = await mkdtemp(join(tmpdir(), 'berth-gpg-'));
  try {
    return await body(home);
  } finally {
    if (existsSync(join(home, 'S.gpg-agent'))) {
      await new Promise<void>((resolve) => {
        const child = spawn('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
        child.on('error', () => resolve());
        child.on('close', () => resolve());
      });
    }
    await rm(home, { recursive: true, force: true });
  }
}

/** Import keys (one gpg run for all of them); returns the primary fingerprints gpg reports as imported. */
async function importKeys(home: string, keyData: Buffer[]): Promise<string[]> {
  const result = await runGpg(['--homedir', home, '--status-fd', '1', '--import'], Buffer.concat(keyData));
  const imported = result.stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l.startsWith('[GNUPG:] IMPORT_OK '))
    .map((l) => l.split(' ')[3] ?? '')
    .filter(Boolean);
  if (result.code !== 0 || imported.length === 0) throw new BerthError('KEY_INVALID', `cannot import OpenPGP key: ${lastLine(result.stderr)}`);
  return [...new Set(imported)];
}

async function listFingerprints(home: string | undefined, secret: boolean): Promise<string[]> {
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
  if (result.code !== 0 || result.stdout.length === 0) {
    const needsPassphrase = !options.passphraseFile && /Inappropriate ioctl|pinentry|No passphrase given/i.test(result.stderr);
    const reason = needsPassphrase ? 'the key is passphrase-protected and there is no terminal to ask on: give --passphrase-file' : lastLine(result.stderr);
    throw new BerthError('KEY_INVALID', `gpg could not sign with ${options.keyId}: ${reason}`);
  }
  return result.stdout;
}

export interface GpgVerified {
  payload: Buffer;
  /** Fingerprint of the (primary) key that made the signature. */
  fingerprint: string;
}

/** OpenPGP ASCII armor to binary packets (gpgv reads binary keyrings only); binary input passes through. */
function dearmor(data: Buffer): Buffer {
  const text = data.toString('latin1');
  if (!text.includes('-----BEGIN PGP ')) return data;
  const blocks: Buffer[] = [];
  for (const match of text.matchAll(/-----BEGIN PGP [A-Z ]+-----\r?\n([\s\S]*?)-----END PGP [A-Z ]+-----/g)) {
    const lines = (match[1] as string).split(/\r?\n/);
    const blank = lines.findIndex((l) => l.trim() === '');
    const body = lines.slice(blank + 1).filter((l) => !l.startsWith('=') && l.trim() !== '');
    const b64 = body.join('');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new BerthError('KEY_INVALID', 'OpenPGP key armor is not base64');
    blocks.push(Buffer.from(b64, 'base64'));
  }
  if (blocks.length === 0) throw new BerthError('KEY_INVALID', 'malformed OpenPGP key armor');
  return Buffer.concat(blocks);
}

/** Run gpgv with stdout capped: a compressed hostile message must not expand without bound. */
function runGpgv(args: string[]): Promise<{ code: number; payload: Buffer; status: string[]; messages: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('gpgv', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let overflow = false;
    child.stdout.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_SIGNED_PAYLOAD_BYTES) {
        overflow = true;
        child.kill('SIGKILL');
      } else out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new BerthError('NOT_FOUND', 'gpgv is not installed (Debian package gpgv, part of gnupg); it is needed to verify OpenPGP simple signing') : e);
    });
    child.on('close', (code) => {
      if (overflow) return reject(new BerthError('SIGNATURE_INVALID', `signed content is larger than ${MAX_SIGNED_PAYLOAD_BYTES} bytes`));
      const lines = Buffer.concat(err).toString('utf8').split('\n');
      resolve({
        code: code ?? 1,
        payload: Buffer.concat(out),
        status: lines.filter((l) => l.startsWith('[GNUPG:] ')).map((l) => l.slice('[GNUPG:] '.length)),
        messages: lines.filter((l) => !l.startsWith('[GNUPG:] ')).join('\n'),
      });
    });
  });
}

/**
 * Verify an OpenPGP signed message against exactly the given public keys and
 * return the signed content. gpgv checks against a keyring holding only those
 * keys (no agent, no trust database, no key fetching), so a good signature can
 * only come from one of them. Anything but one good signature fails with the
 * reason gpg gave.
 */
export async function gpgVerify(signature: Buffer, trustedKeys: Buffer[]): Promise<GpgVerified> {
  if (trustedKeys.length === 0) throw new BerthError('POLICY_DENIED', 'no trusted OpenPGP keys given');
  const keyring = Buffer.concat(trustedKeys.map(dearmor));
  const dir = await mkdtemp(join(tmpdir(), 'berth-gpgv-'));
  try {
    const keyringFile = join(dir, 'trusted.gpg');
    const sigFile = join(dir, 'signature');
    await writeFile(keyringFile, keyring);
    await writeFile(sigFile, signature);
    const result = await runGpgv(['--homedir', dir, '--keyring', keyringFile, '--status-fd', '2', '--output', '-', sigFile]);
    const words = result.status.map((l) => l.split(' '));
    const bad = words.find((w) => w[0] === 'BADSIG');
    if (bad) throw new BerthError('SIGNATURE_INVALID', `OpenPGP signature is BAD (made by key ${bad[1]}, content altered)`);
    const missing = words.find((w) => w[0] === 'ERRSIG' || w[0] === 'NO_PUBKEY');
    if (missing) throw new BerthError('SIGNATURE_INVALID', `OpenPGP signature by key ${missing[1]}, which is not a trusted key`);
    const expired = words.find((w) => w[0] === 'EXPKEYSIG' || w[0] === 'REVKEYSIG' || w[0] === 'EXPSIG');
    if (expired) throw new BerthError('SIGNATURE_INVALID', `OpenPGP signature by key ${expired[1]} is not valid (${expired[0] === 'REVKEYSIG' ? 'key revoked' : 'expired'})`);
    const valid = words.filter((w) => w[0] === 'VALIDSIG');
    if (result.code !== 0 || valid.length === 0) {
      const reason = result.messages.trim().split('\n').pop()?.replace(/^gpgv: /, '') ?? 'gpgv failed';
      throw new BerthError('SIGNATURE_INVALID', `not a valid OpenPGP signature: ${reason}`);
    }
    if (valid.length !== 1) throw new BerthError('SIGNATURE_INVALID', `OpenPGP message carries ${valid.length} signatures; exactly one is accepted`);
    const fields = valid[0] as string[];
    return { payload: result.payload, fingerprint: fields[10] ?? fields[1] ?? '' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
