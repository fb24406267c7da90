import { posix } from 'node:path';
import type { MountFrom, RunMount } from '../plan.js';

/** Raised with the problem only; the caller adds file and line. */
export class MountError extends Error {}

function parseFields(spec: string): Map<string, string | undefined> {
  const fields = new Map<string, string | undefined>();
  // BuildKit reads the spec as one CSV record.
  for (const field of spec.split(',')) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    fields.set(key, eq < 0 ? undefined : field.slice(eq + 1));
  }
  return fields;
}

function bool(value: string | undefined, key: string): boolean {
  if (value === undefined || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new MountError(`invalid value for ${key}: ${value}`);
}

function octal(value: string, key: string): number {
  if (!/^[0-7]+$/.test(value)) throw new MountError(`invalid value for ${key}: ${value}`);
  return parseInt(value, 8);
}

function int(value: string, key: string): number {
  if (!/^\d+$/.test(value)) throw new MountError(`invalid value for ${key}: ${value}`);
  return Number(value);
}

/** Size as BuildKit's tmpfs size takes it: bytes, or with a k/m/g suffix (binary units). */
function size(value: string): number {
  const m = /^(\d+)([kmg]?)b?$/i.exec(value);
  if (!m) throw new MountError(`invalid value for size: ${value}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * unit;
}

/**
 * One `--mount=` flag of RUN into a RunMount. `resolveFrom` turns a `from=` value into a stage or an image;
 * `sshIndex` counts the RUN's earlier ssh mounts (their default targets are numbered).
 */
export function parseRunMount(spec: string, workdir: string, resolveFrom: (from: string) => MountFrom, sshIndex: number): RunMount {
  const fields = parseFields(spec);
  const known = new Set(['type', 'target', 'dst', 'destination', 'source', 'src', 'from', 'id', 'sharing', 'mode', 'uid', 'gid', 'readonly', 'ro', 'rw', 'readwrite', 'required', 'env', 'size']);
  for (const key of fields.keys()) if (!known.has(key)) throw new MountError(`unexpected key '${key}' in '${spec}'`);
  const type = fields.get('type') ?? 'bind';
  const rawTarget = fields.get('target') ?? fields.get('dst') ?? fields.get('destination');
  const target = rawTarget === undefined ? undefined : posix.resolve(workdir, rawTarget);
  const source = fields.get('source') ?? fields.get('src');
  const from = fields.get('from');
  const mountFrom = from === undefined ? undefined : resolveFrom(from);
  const readonly = fields.has('readonly') ? bool(fields.get('readonly'), 'readonly') : fields.has('ro') ? bool(fields.get('ro'), 'ro') : undefined;
  const readwrite = fields.has('rw') ? bool(fields.get('rw'), 'rw') : fields.has('readwrite') ? bool(fields.get('readwrite'), 'readwrite') : undefined;
  const mode = fields.get('mode');
  const uid = fields.get('uid');
  const gid = fields.get('gid');
  switch (type) {
    case 'bind': {
      if (target === undefined) throw new MountError('mount type bind needs a target');
      return { type, target, source: source ?? '/', ...(mountFrom ? { from: mountFrom } : {}), readwrite: readwrite ?? (readonly === undefined ? false : !readonly) };
    }
    case 'cache': {
      if (target === undefined) throw new MountError('mount type cache needs a target');
      const sharing = fields.get('sharing') ?? 'shared';
      if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked') throw new MountError(`unsupported sharing value "${sharing}"`);
      return {
        type, target, id: fields.get('id') || target, sharing, readonly: readonly ?? (readwrite === undefined ? false : !readwrite),
        ...(mountFrom ? { from: mountFrom } : {}), ...(source !== undefined ? { source } : {}),
        mode: mode === undefined ? 0o755 : octal(mode, 'mode'), uid: uid === undefined ? 0 : int(uid, 'uid'), gid: gid === undefined ? 0 : int(gid, 'gid'),
      };
    }
    case 'tmpfs': {
      if (target === undefined) throw new MountError('mount type tmpfs needs a target');
      const s = fields.get('size');
      return { type, target, ...(s !== undefined ? { size: size(s) } : {}) };
    }
    case 'secret': {
      const id = fields.get('id') || (target !== undefined ? posix.basename(target) : undefined);
      if (id === undefined) throw new MountError('mount type secret needs an id or a target');
      const env = fields.get('env');
      // A secret given only as an environment variable has no file unless a target is named.
      const secretTarget = target ?? (env === undefined ? `/run/secrets/${id}` : '');
      return {
        type, target: secretTarget, id, required: fields.has('required') ? bool(fields.get('required'), 'required') : false,
        ...(env !== undefined ? { env } : {}),
        mode: mode === undefined ? 0o400 : octal(mode, 'mode'), uid: uid === undefined ? 0 : int(uid, 'uid'), gid: gid === undefined ? 0 : int(gid, 'gid'),
      };
    }
    case 'ssh':
      return {
        type, target: target ?? `/run/buildkit/ssh_agent.${sshIndex}`, id: fields.get('id') || 'default',
        required: fields.has('required') ? bool(fields.get('required'), 'required') : false,
        mode: mode === undefined ? 0o600 : octal(mode, 'mode'), uid: uid === undefined ? 0 : int(uid, 'uid'), gid: gid === undefined ? 0 : int(gid, 'gid'),
      };
    default:
      throw new MountError(`unsupported mount type "${type}"`);
  }
}
