import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TarReader, type TarEntryHeader } from '../../src/layer/tarReader.js';

export const fsPath = (root: string, rel: string): Buffer => Buffer.concat([Buffer.from(root), Buffer.from(rel === '' ? '' : `/${rel}`, 'latin1')]);

/**
 * Run a shell command with "$1" set to a path's exact bytes: argv strings
 * reach a child as UTF-8, so the bytes travel as printf escapes instead.
 */
export function shWithPath(script: string, abs: Buffer): string {
  const escaped = [...abs].map((byte) => `\\0${byte.toString(8)}`).join('');
  return execFileSync('sh', ['-c', `p="$(printf '%bx' "$1")"; set -- "\${p%x}"; ${script}`, 'sh', escaped], { encoding: 'latin1', env: { ...process.env, LC_ALL: 'C' } });
}

function xattrsOf(abs: Buffer): string {
  return shWithPath('getfattr -h -d -m - -e hex --absolute-names -- "$1" 2>/dev/null || true', abs)
    .split('\n')
    .filter((line) => line.startsWith('user.') || line.startsWith('security.capability='))
    .sort()
    .join(',');
}

/**
 * What a user sees in a tree: every path with its type, mode, owner, mtime
 * (seconds), content digest, symlink target, hardlink partner and carried
 * xattrs. Written without berth's code, so the layer is checked against
 * the filesystem and not against itself.
 */
export function snapshot(root: string): string[] {
  const lines: string[] = [];
  const firstByInode = new Map<string, string>();
  const walk = (rel: string): void => {
    const names = readdirSync(fsPath(root, rel), { encoding: 'buffer' }).map((n) => n.toString('latin1')).sort();
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const abs = fsPath(root, path);
      const st = lstatSync(abs);
      const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : st.isFIFO() ? 'fifo' : 'other';
      let line = `${JSON.stringify(path)} ${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} t=${Math.floor(st.mtimeMs / 1000)}`;
      if (st.isSymbolicLink()) line += ` -> ${readlinkSync(abs, { encoding: 'buffer' }).toString('latin1')}`;
      if (st.isFile()) {
        line += ` sha256=${createHash('sha256').update(readFileSync(abs)).digest('hex').slice(0, 16)}`;
        const inode = `${st.dev}:${st.ino}`;
        const first = firstByInode.get(inode);
        if (first !== undefined) line += ` linked-to=${JSON.stringify(first)}`;
        else firstByInode.set(inode, path);
      }
      if (!st.isSymbolicLink()) line += ` xattrs=${xattrsOf(abs)}`;
      lines.push(line);
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return lines;
}


/** Every member header of an uncompressed tar, in archive order. */
export function tarMembers(tar: Buffer): TarEntryHeader[] {
  const out: TarEntryHeader[] = [];
  const reader = new TarReader({ entry: (h) => out.push(h), data: () => undefined, entryEnd: () => undefined });
  reader.push(tar);
  reader.finish();
  return out;
}

/** Write files (relative path → content) under `root`, making their directories. */
export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
}
