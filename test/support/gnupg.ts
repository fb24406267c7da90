import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A GnuPG home with one unprotected RSA signing key; its agent is stopped and the directory removed at the end. */
export function gnupgHome(t: TestContext, gpg: string, name: string): { home: string; fingerprint: string; publicKey: string; secretKey: string } {
  const home = mkdtempSync(join(tmpdir(), 'bg-'));
  t.after(() => {
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
  });
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync(gpg, ['--batch', '--passphrase', '', '--quick-gen-key', `${name} <${name.toLowerCase()}@example.com>`, 'rsa2048', 'sign', '0'], { env, stdio: 'ignore' });
  const colons = execFileSync(gpg, ['--batch', '--with-colons', '--list-secret-keys'], { env, encoding: 'utf8' });
  const fingerprint = (colons.split('\n').find((l) => l.startsWith('fpr:')) as string).split(':')[9] as string;
  const publicKey = join(home, 'pub.asc');
  const secretKey = join(home, 'sec.asc');
  writeFileSync(publicKey, execFileSync(gpg, ['--batch', '--armor', '--export', fingerprint], { env }));
  writeFileSync(secretKey, execFileSync(gpg, ['--batch', '--armor', '--export-secret-keys', fingerprint], { env }));
  return { home, fingerprint, publicKey, secretKey };
}
