import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { BerthError } from '../errors/BerthError.js';
import { RootResolver, fsPath } from '../layer/rootResolver.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  username?: string;
  /** The user's home directory from /etc/passwd, when the user is listed there. */
  home?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** /etc/passwd and /etc/group larger than this are refused rather than read into memory. */
const MAX_DB_BYTES = 4 * 1024 * 1024;
const NUMERIC = /^[0-9]{1,10}$/;

/**
 * Read a file of the rootfs as the container would see it: symlinks are
 * followed inside the rootfs only, and the final open refuses symlinks, so a
 * hostile image cannot make berth read a host file.
 */
function readRootfsFile(resolver: RootResolver, path: string, maxBytes = MAX_DB_BYTES): string | undefined {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  let rel: string | undefined;
  try {
    rel = resolver.resolveFollow(parts);
  } catch {
    return undefined;
  }
  if (rel === undefined) return undefined;
  let fd: number;
  try {
    fd = openSync(fsPath(resolver.abs(rel)), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    if (st.size > maxBytes) throw new BerthError('CONFIG_INVALID', `${path} in the image is larger than ${maxBytes} bytes`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.toString('utf8', 0, off);
  } finally {
    closeSync(fd);
  }
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || !NUMERIC.test(f[2]!) || !NUMERIC.test(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' });
  }
  return out;
}

function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || !NUMERIC.test(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

/**
 * Resolve the image config's User (`user`, `uid`, `user:group`, `uid:gid`, ...)
 * against the rootfs' /etc/passwd and /etc/group, following image-spec
 * conversion.md: a name must exist; without an explicit group the user's
 * primary group and supplementary groups apply.
 */
export function resolveUser(resolver: RootResolver, user: string | undefined): ResolvedUser {
  if (user === undefined || user === '') return { uid: 0, gid: 0, additionalGids: [] };
  const colon = user.indexOf(':');
  const userPart = colon < 0 ? user : user.slice(0, colon);
  const groupPart = colon < 0 ? undefined : user.slice(colon + 1);
  if (userPart === '') throw new BerthError('CONFIG_INVALID', `image config User "${user}" has no user`);
  let passwd: PasswdEntry[] | undefined;
  const users = (): PasswdEntry[] => (passwd ??= parsePasswd(readRootfsFile(resolver, '/etc/passwd')));
  let groups: GroupEntry[] | undefined;
  const groupDb = (): GroupEntry[] => (groups ??= parseGroup(readRootfsFile(resolver, '/etc/group')));

  let uid: number;
  let entry: PasswdEntry | undefined;
  if (NUMERIC.test(userPart)) {
    uid = Number(userPart);
    entry = users().find((u) => u.uid === uid);
  } else {
    entry = users().find((u) => u.name === userPart);
    if (!entry) throw new BerthError('CONFIG_INVALID', `image config User "${userPart}" is not in the image's /etc/passwd`);
    uid = entry.uid;
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (NUMERIC.test(groupPart)) return { uid, gid: Number(groupPart), additionalGids: [], ...(entry ? { username: entry.name, home: entry.home } : {}) };
    const group = groupDb().find((g) => g.name === groupPart);
    if (!group) throw new BerthError('CONFIG_INVALID', `image config group "${groupPart}" is not in the image's /etc/group`);
    return { uid, gid: group.gid, additionalGids: [], ...(entry ? { username: entry.name, home: entry.home } : {}) };
  }
  const gid = entry?.gid ?? 0;
  const additional = entry ? [...new Set(groupDb().filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid))] : [];
  return { uid, gid, additionalGids: additional, ...(entry ? { username: entry.name, home: entry.home } : {}) };
}
