import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import { BerthError } from '../../../src/errors/BerthError.js';

/**
 * An htpasswd file with bcrypt entries (`htpasswd -B`), the format
 * docker-registry accepts. Other hash schemes (MD5, SHA1, crypt) are refused
 * when the file is loaded rather than silently never matching.
 */
export class HtpasswdFile {
  private readonly hashes = new Map<string, string>();
  /** bcrypt costs ~0.1 s per check and a push makes dozens of requests: remember recent successes. */
  private readonly verified = new Map<string, number>();

  constructor(entries: Map<string, string>) {
    for (const [user, hash] of entries) this.hashes.set(user, hash.replace(/^\$2y\$/, '$2b$'));
  }

  static load(path: string): HtpasswdFile {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new BerthError('NOT_FOUND', `cannot read htpasswd file ${path}: ${(err as Error).message.split('\n')[0]}`);
    }
    return new HtpasswdFile(parseHtpasswd(text, path));
  }

  async verify(user: string, password: string): Promise<boolean> {
    const hash = this.hashes.get(user);
    if (hash === undefined) return false;
    const key = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    const until = this.verified.get(key);
    if (until !== undefined && until > Date.now()) return true;
    const ok = await bcrypt.compare(password, hash);
    if (ok) {
      if (this.verified.size > 1000) this.verified.clear();
      this.verified.set(key, Date.now() + 5 * 60_000);
    }
    return ok;
  }
}

export function parseHtpasswd(text: string, source: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (colon <= 0 || !/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      throw new BerthError('USAGE', `${source} line ${index + 1}: only bcrypt entries (htpasswd -B) are supported`);
    }
    entries.set(user, hash);
  }
  return entries;
}
