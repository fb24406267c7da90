import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  chmodSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, toBerthError } from '../errors/BerthError.js';
import { decompressStream } from './compression.js';
import { RootResolver, fsPath, lstatOrUndefined } from './rootResolver.js';
import { cleanMemberPath } from './tarPath.js';
import { isCarriedXattr } from './fileTree.js';
import type { KeptPaths } from './keptPaths.js';
import { which } from './which.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './whiteout.js';
import { TarReader, printable, type TarEntryHeader } from './tarReader.js';

/** Maps ids found in a layer to ids on the host (for user-namespaced, rootless bundles). */
export interface IdMapper {
  uid(containerUid: number): number;
  gid(containerGid: number): number;
}

export interface ApplyLimits {
  /** Most members accepted in one layer (a tar bomb of tiny entries is refused). Default 1,000,000. */
  maxEntries?: number;
  /** Most bytes of member data written from one layer. Default: unlimited. */
  maxBytes?: number;
  /** Largest PAX/long-name record. Default 1 MiB. */
  maxMetadataBytes?: number;
}

export interface ApplyOptions {
  /** Set owners from the archive (default: when running as root). */
  chown?: boolean;
  idMap?: IdMapper;
  /** Create character and block devices (needs root as well; default false: they are skipped with a warning). */
  devices?: boolean;
  limits?: ApplyLimits;
  onWarning?: (message: string) => void;
  /**
   * For unprivileged multi-layer unpacks: directory modes are collected here
   * across layers and each layer leaves its directories owner-writable, so a
   * later layer can still write into a directory an earlier one made read-only.
   * Apply the real modes at the end with `applyDirectoryModes`.
   */
  directoryModes?: DirectoryModes;
  /** Paths the layer must not touch (a builder applying layers to its own root): their members and whiteouts are skipped. */
  keep?: KeptPaths;
  /**
   * Write whiteouts as overlayfs records them instead of applying them: a 0/0 character device for `.wh.NAME`, the
   * trusted.overlay.opaque xattr for an opaque marker. Turns a layer back into a tree to stack as an overlay layer
   * (a build cache entry fetched from a registry). Root only.
   */
  overlayWhiteouts?: boolean;
}

/** Directory modes and mtimes waiting to be set, by resolved path (re-inserting keeps the latest last). */
export type DirectoryModes = Map<string, PendingDirectory>;

export interface ApplyResult {
  entries: number;
  bytes: number;
  warnings: string[];
}

const OPEN_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const DEFAULT_MAX_ENTRIES = 1_000_000;

export interface PendingDirectory {
  rel: string;
  mode: number;
  mtime: number;
}

/**
 * The secure layer applier. It consumes an uncompressed tar synchronously
 * (fs sync calls in a tight loop: per-entry promises cost more than the
 * syscalls for small files) and:
 *  - resolves every parent directory inside the root (RootResolver), so no
 *    member, symlink or hardlink can reach outside it;
 *  - never follows the final component: whatever is there is replaced (later
 *    entries win, as in docker), and files are opened O_EXCL|O_NOFOLLOW;
 *  - applies OCI whiteouts (`.wh.NAME`) and opaque markers (`.wh..wh..opq`)
 *    to what lower layers left, never to this layer's own members;
 *  - defers directory modes and mtimes to the end so read-only directories and
 *    later children do not disturb them.
 * It assumes nothing else modifies the root while it runs.
 */
export class LayerApplier {
  private readonly resolver: RootResolver;
  private readonly chown: boolean;
  private readonly idMap: IdMapper | undefined;
  private readonly devices: boolean;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly onWarning: ((message: string) => void) | undefined;
  private readonly keep: KeptPaths | undefined;
  private readonly overlayWhiteouts: boolean;
  /** The current member lies in a kept path: its data is read and dropped. */
  private discarding = false;
  readonly reader: TarReader;
  readonly result: ApplyResult = { entries: 0, bytes: 0, warnings: [] };
  /** Resolved paths this layer created; whiteouts never remove them. */
  private readonly created = new Set<string>();
  /** Directories holding something this layer created (for opaque markers applied after their contents). */
  private readonly holdsCreated = new Set<string>();
  /** Directory modes/times set at the end of the layer (or of the unpack, when shared). */
  private readonly directories: DirectoryModes;
  private readonly sharedDirectories: boolean;
  private fd = -1;
  private current: TarEntryHeader | undefined;
  private currentRel = '';
  private readonly warnedXattrs = new Set<string>();
  private setfattr: string | undefined | null = null;
  private readonly umask = processUmask();
  private readonly euid = process.geteuid?.() ?? -1;
  private readonly egid = process.getegid?.() ?? -1;

  constructor(rootDir: string, options: ApplyOptions = {}) {
    this.resolver = new RootResolver(rootDir);
    this.resolver.onImplicitDirectory = (rel) => this.markCreated(rel);
    this.chown = options.chown ?? process.getuid?.() === 0;
    this.idMap = options.idMap;
    this.devices = (options.devices ?? false) && process.getuid?.() === 0;
    this.maxEntries = options.limits?.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.maxBytes = options.limits?.maxBytes ?? Number.POSITIVE_INFINITY;
    this.onWarning = options.onWarning;
    this.keep = options.keep;
    this.overlayWhiteouts = options.overlayWhiteouts ?? false;
    this.sharedDirectories = options.directoryModes !== undefined;
    this.directories = options.directoryModes ?? new Map();
    this.reader = new TarReader(
      { entry: (h) => this.entry(h), data: (c) => this.data(c), entryEnd: () => this.entryEnd() },
      { maxMetadataBytes: options.limits?.maxMetadataBytes },
    );
  }

  /** Feed uncompressed tar bytes. */
  push(chunk: Buffer): void {
    this.reader.push(chunk);
  }

  /** Input ended: check the archive was complete, then set directory modes and times. */
  finish(): ApplyResult {
    this.reader.finish();
    setDirectoryModes(this.resolver, this.directories, this.sharedDirectories ? 0o700 : 0);
    return this.result;
  }

  /** Release an open file after a failure. */
  abort(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  private warn(message: string): void {
    this.result.warnings.push(message);
    this.onWarning?.(message);
  }

  private markCreated(rel: string): void {
    this.created.add(rel);
    let slash = rel.lastIndexOf('/');
    while (slash > 0) {
      const parent = rel.slice(0, slash);
      if (this.holdsCreated.has(parent)) break;
      this.holdsCreated.add(parent);
      slash = parent.lastIndexOf('/');
    }
    this.holdsCreated.add('');
  }

  private entry(h: TarEntryHeader): void {
    if (++this.result.entries > this.maxEntries) {
      throw new BerthError('LAYER_INVALID', `layer has more than ${this.maxEntries} entries (tar bomb?)`);
    }
    const parts = cleanMemberPath(h.name);
    const base = parts[parts.length - 1];
    if (base !== undefined && base.startsWith(WHITEOUT_PREFIX)) {
      this.whiteout(h, parts.slice(0, -1), base);
      return;
    }
    if (base === undefined) {
      if (h.type !== 'directory') throw new BerthError('LAYER_INVALID', `a ${h.type} entry cannot replace the root directory`);
      this.ownAndTime('', h);
      this.deferDirectory('', h);
      return;
    }
    const parent = this.resolver.resolveDirectory(parts.slice(0, -1), true)!;
    const rel = parent === '' ? base : `${parent}/${base}`;
    if (this.keep && (this.keep.isKept(rel) || (this.keep.holdsKept(rel) && h.type !== 'directory'))) {
      this.discarding = h.type === 'file';
      return;
    }
    const abs = this.resolver.abs(rel);
    switch (h.type) {
      case 'directory':
        this.directory(rel, abs, h);
        break;
      case 'file':
        this.openFile(rel, abs, h);
        return;
      case 'symlink':
        this.replace(rel);
        symlinkSync(fsPath(h.linkname), fsPath(abs));
        this.ownAndTime(rel, h, true);
        this.xattrs(rel, h);
        break;
      case 'hardlink':
        this.hardlink(rel, abs, h);
        break;
      case 'char-device':
      case 'block-device':
      case 'fifo':
        this.special(rel, abs, h);
        break;
    }
    this.markCreated(rel);
  }

  private directory(rel: string, abs: string, h: TarEntryHeader): void {
    const st = lstatOrUndefined(abs);
    if (!st || !st.isDirectory()) {
      if (st) this.remove(rel, st);
      mkdirSync(fsPath(abs), { mode: 0o700 });
    }
    this.ownAndTime(rel, h);
    this.xattrs(rel, h);
    this.deferDirectory(rel, h);
  }

  private deferDirectory(rel: string, h: TarEntryHeader): void {
    this.directories.delete(rel);
    this.directories.set(rel, { rel, mode: h.mode, mtime: h.mtime });
  }

  private openFile(rel: string, abs: string, h: TarEntryHeader): void {
    const path = fsPath(abs);
    try {
      this.fd = openSync(path, OPEN_NEW, this.createMode(h));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      this.replace(rel);
      this.fd = openSync(path, OPEN_NEW, this.createMode(h));
    }
    this.current = h;
    this.currentRel = rel;
    if (h.size === 0) this.closeFile();
  }

  private data(chunk: Buffer): void {
    if (this.discarding) return;
    this.result.bytes += chunk.length;
    if (this.result.bytes > this.maxBytes) throw new BerthError('LAYER_INVALID', `layer expands to more than ${this.maxBytes} bytes (tar bomb?)`);
    let off = 0;
    while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off);
  }

  private entryEnd(): void {
    this.discarding = false;
    if (this.fd >= 0) this.closeFile();
  }

  /**
   * The mode to create a file with: its final mode when the umask leaves it
   * intact and it has no set-id/sticky bits (then no fchmod is needed), else
   * owner-only until fchmod sets it.
   */
  private createMode(h: TarEntryHeader): number {
    return (h.mode & 0o7000) === 0 && (h.mode & this.umask) === 0 ? h.mode : 0o600;
  }

  private closeFile(): void {
    const h = this.current!;
    const fd = this.fd;
    let chowned = false;
    if (this.chown) {
      const [uid, gid] = this.ids(h);
      // A new file already belongs to the effective ids unless a set-gid directory gave it another group.
      if (uid !== this.euid || gid !== this.egid || this.resolver.setgidSeen) {
        fchownSync(fd, uid, gid);
        chowned = true;
      }
    }
    // After chown: chown clears set-id bits and file capabilities.
    if (chowned || this.createMode(h) !== h.mode) fchmodSync(fd, h.mode);
    this.xattrs(this.currentRel, h);
    futimesSync(fd, h.mtime, h.mtime);
    closeSync(fd);
    this.fd = -1;
    this.markCreated(this.currentRel);
    this.current = undefined;
  }

  private hardlink(rel: string, abs: string, h: TarEntryHeader): void {
    const targetParts = cleanMemberPath(h.linkname, 'hardlink target');
    if (targetParts.length === 0) throw new BerthError('LAYER_INVALID', `hardlink "${printable(h.name)}" points at the root directory`);
    const targetParent = this.resolver.resolveDirectory(targetParts.slice(0, -1), false);
    const targetRel = targetParent === undefined ? undefined : targetParent === '' ? targetParts[targetParts.length - 1]! : `${targetParent}/${targetParts[targetParts.length - 1]!}`;
    const targetStat = targetRel === undefined ? undefined : lstatOrUndefined(this.resolver.abs(targetRel));
    if (targetRel === undefined || !targetStat) {
      throw new BerthError('LAYER_INVALID', `hardlink "${printable(h.name)}" points at "${printable(h.linkname)}", which does not exist in the root`);
    }
    if (targetStat.isDirectory()) throw new BerthError('LAYER_INVALID', `hardlink "${printable(h.name)}" points at a directory`);
    if (targetRel === rel) return;
    this.replace(rel);
    linkSync(fsPath(this.resolver.abs(targetRel)), fsPath(abs));
  }

  private special(rel: string, abs: string, h: TarEntryHeader): void {
    if (h.type !== 'fifo' && !this.devices) {
      this.warn(`device node "${printable(h.name)}" skipped (devices are created only as root with the devices option)`);
      return;
    }
    this.replace(rel);
    // Made under an ASCII name in the root, then renamed into place: argv reaches mknod as UTF-8, a member name may be any bytes.
    const made = `${this.resolver.root}/.berth-node-${process.pid}-${randomBytes(6).toString('hex')}`;
    const mode = (h.mode & 0o7777).toString(8);
    const args = h.type === 'fifo' ? ['-m', mode, made] : ['-m', mode, made, h.type === 'char-device' ? 'c' : 'b', String(h.devmajor), String(h.devminor)];
    try {
      execFileSync(h.type === 'fifo' ? 'mkfifo' : 'mknod', args.map((a) => Buffer.from(a, 'latin1').toString()), { stdio: 'ignore' });
      renameSync(fsPath(made), fsPath(abs));
    } catch (err) {
      rmSync(fsPath(made), { force: true });
      throw new BerthError('IO_ERROR', `cannot create ${h.type} "${printable(h.name)}"`, { cause: err });
    }
    this.ownAndTime(rel, h, true);
  }

  private whiteout(h: TarEntryHeader, parentParts: string[], base: string): void {
    let parent: string | undefined;
    try {
      parent = this.resolver.resolveDirectory(parentParts, false);
    } catch (err) {
      // A whiteout under a non-directory hides nothing.
      if (!(err instanceof BerthError && err.code === 'LAYER_INVALID')) throw err;
    }
    if (base === OPAQUE_MARKER) {
      if (parent !== undefined && this.overlayWhiteouts) this.setOverlayOpaque(this.resolver.resolveDirectory(parentParts, true)!);
      else if (parent !== undefined) this.opaque(parent);
      return;
    }
    // Other .wh..wh.* names are aufs bookkeeping (hardlink dirs, metadata); docker ignores them too.
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return;
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..') {
      throw new BerthError('UNSAFE_PATH', `whiteout "${printable(h.name)}" names no valid entry`);
    }
    if (this.overlayWhiteouts) {
      const dir = this.resolver.resolveDirectory(parentParts, true)!;
      const rel = dir === '' ? name : `${dir}/${name}`;
      this.special(rel, this.resolver.abs(rel), { ...h, type: 'char-device', devmajor: 0, devminor: 0, mode: 0, uid: 0, gid: 0 });
      this.markCreated(rel);
      return;
    }
    if (parent === undefined) return;
    const rel = parent === '' ? name : `${parent}/${name}`;
    if (this.created.has(rel) || this.holdsCreated.has(rel)) return;
    const st = lstatOrUndefined(this.resolver.abs(rel));
    if (st) this.remove(rel, st);
  }

  /** Hide everything lower layers put under `dir`, keeping what this layer wrote there. */
  private opaque(dir: string): void {
    const abs = this.resolver.abs(dir);
    const names = readdirSync(fsPath(abs), { encoding: 'buffer' });
    for (const nameBuf of names) {
      const name = nameBuf.toString('latin1');
      const rel = dir === '' ? name : `${dir}/${name}`;
      const childAbs = this.resolver.abs(rel);
      const st = lstatOrUndefined(childAbs);
      if (!st) continue;
      if (st.isDirectory() && (this.holdsCreated.has(rel) || this.created.has(rel))) {
        this.opaque(rel);
        continue;
      }
      if (this.created.has(rel)) continue;
      this.remove(rel, st);
    }
  }

  /** Remove whatever exists at `rel` (never following it). */
  private replace(rel: string): void {
    const st = lstatOrUndefined(this.resolver.abs(rel));
    if (st) this.remove(rel, st);
  }

  private remove(rel: string, st: Stats): void {
    if (this.keep?.isKept(rel)) return;
    const abs = this.resolver.abs(rel);
    if (st.isDirectory() && this.keep?.holdsKept(rel)) {
      for (const name of readdirSync(fsPath(abs), { encoding: 'buffer' })) {
        const child = `${rel}/${name.toString('latin1')}`;
        const childSt = lstatOrUndefined(this.resolver.abs(child));
        if (childSt) this.remove(child, childSt);
      }
      return;
    }
    if (st.isDirectory()) {
      rmSync(fsPath(abs), { recursive: true, force: true });
      this.resolver.invalidate();
      if (this.sharedDirectories) {
        for (const key of this.directories.keys()) if (key === rel || key.startsWith(`${rel}/`)) this.directories.delete(key);
      }
      return;
    }
    unlinkSync(fsPath(abs));
    if (st.isSymbolicLink()) this.resolver.invalidate();
  }

  /**
   * Set SCHILY.xattr.* attributes with setfattr (Node has no setxattr), never
   * following a symlink (-h), all of an entry's at once. They travel on
   * stdin in getfattr's dump format, where every byte of the path and names
   * can be escaped (argv would reach setfattr as UTF-8). user.* always;
   * trusted.* and security.capability only as root; overlay's own
   * attributes (a layer must not steer the next overlay mount of this tree)
   * and other namespaces (SELinux labels, ACLs) are skipped with a warning.
   */
  private xattrs(rel: string, h: TarEntryHeader): void {
    if (h.xattrs.size === 0) return;
    if (this.setfattr === null) this.setfattr = which('setfattr');
    if (this.setfattr === undefined) {
      this.warnOnce('tool', 'extended attributes are not applied: setfattr (Debian package attr) is not installed');
      return;
    }
    const root = process.getuid?.() === 0;
    const lines = [`# file: ${escapeForSetfattr(this.resolver.abs(rel))}`];
    for (const [name, value] of h.xattrs) {
      const allowed = isCarriedXattr(name) && (root || name.startsWith('user.'));
      if (!allowed) {
        this.warnOnce(name, `extended attribute ${printable(name)} skipped (namespace not applied${root ? '' : ' without root'})`);
        continue;
      }
      lines.push(`${escapeForSetfattr(Buffer.from(name, 'utf8').toString('latin1'))}=0x${value.toString('hex')}`);
    }
    if (lines.length === 1) return;
    try {
      execFileSync(this.setfattr, ['-h', '--restore=-'], { input: Buffer.from(`${lines.join('\n')}\n`, 'latin1'), stdio: ['pipe', 'ignore', 'ignore'] });
    } catch {
      this.warnOnce(`failed:${rel}`, `extended attributes could not be set on "${printable(h.name)}" (filesystem support?)`);
    }
  }

  private setOverlayOpaque(dir: string): void {
    this.setfattr ??= which('setfattr');
    if (this.setfattr === undefined) throw new BerthError('UNSUPPORTED', 'an opaque directory cannot be recorded for overlayfs: setfattr (Debian package attr) is not installed');
    const dump = `# file: ${escapeForSetfattr(this.resolver.abs(dir))}\ntrusted.overlay.opaque=0x79\n`;
    execFileSync(this.setfattr, ['-h', '--restore=-'], { input: Buffer.from(dump, 'latin1'), stdio: ['pipe', 'ignore', 'ignore'] });
  }

  private warnOnce(key: string, message: string): void {
    if (this.warnedXattrs.has(key)) return;
    this.warnedXattrs.add(key);
    this.warn(message);
  }

  private ids(h: TarEntryHeader): [number, number] {
    if (!this.idMap) return [h.uid, h.gid];
    return [this.idMap.uid(h.uid), this.idMap.gid(h.gid)];
  }

  private ownAndTime(rel: string, h: TarEntryHeader, noFollow = false): void {
    const path = fsPath(this.resolver.abs(rel));
    if (this.chown) {
      const [uid, gid] = this.ids(h);
      lchownSync(path, uid, gid);
    }
    if (noFollow) lutimesSync(path, h.mtime, h.mtime);
  }
}

/** A byte string as getfattr/setfattr dumps quote it: anything but plain ASCII as \\ooo. */
function escapeForSetfattr(byteString: string): string {
  return byteString.replace(/[^A-Za-z0-9/._+:@-]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** The process umask, read from /proc (process.umask() without an argument is deprecated); 0o777 when unknown so files always get an fchmod. */
function processUmask(): number {
  try {
    const match = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? parseInt(match[1]!, 8) : 0o777;
  } catch {
    return 0o777;
  }
}

/**
 * Set collected directory modes and mtimes, deepest last-made first. Each
 * directory is re-resolved inside the root first: a later member may have
 * replaced it or a parent with a symlink, and chmod must never follow one out.
 * `extraBits` are or-ed into the mode (0o700 keeps directories writable between layers).
 */
function setDirectoryModes(resolver: RootResolver, directories: DirectoryModes, extraBits: number): void {
  const pending = [...directories.values()];
  for (let i = pending.length - 1; i >= 0; i--) {
    const dir = pending[i]!;
    const parts = dir.rel === '' ? [] : dir.rel.split('/');
    let resolved: string | undefined;
    try {
      resolved = resolver.resolveDirectory(parts, false);
    } catch {
      resolved = undefined;
    }
    if (resolved !== dir.rel) continue;
    const path = fsPath(resolver.abs(dir.rel));
    chmodSync(path, dir.mode | extraBits);
    utimesSync(path, dir.mtime, dir.mtime);
  }
}

/** Apply the exact directory modes collected with the `directoryModes` option, once every layer is in. */
export function applyDirectoryModes(rootDir: string, directories: DirectoryModes): void {
  setDirectoryModes(new RootResolver(rootDir), directories, 0);
}

/**
 * Apply one layer (a tar stream, gzip/zstd detected by magic) to `rootDir`.
 * Never writes outside `rootDir`; throws a BerthError (UNSAFE_PATH,
 * LAYER_INVALID, UNSUPPORTED) on archives it will not apply.
 */
export async function applyLayer(rootDir: string, tar: Readable, options: ApplyOptions = {}): Promise<ApplyResult> {
  const applier = new LayerApplier(rootDir, options);
  try {
    await pipeline(tar, decompressStream(), applierSink(applier));
  } catch (err) {
    applier.abort();
    throw toBerthError(err);
  }
  return applier.result;
}

/** A Writable that feeds an applier and finishes it at end of input. */
export function applierSink(applier: LayerApplier): Writable {
  return new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, done) {
      try {
        applier.push(chunk);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    final(done) {
      try {
        applier.finish();
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
}
