import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * The commit a project directory is checked out at, read from .git itself (no git binary in a build pod): HEAD, the
 * ref it names (loose or packed), a worktree's `gitdir:` file. Undefined outside a repository or when HEAD names no
 * commit yet.
 */
export function gitRevision(projectDir: string): string | undefined {
  const gitDir = findGitDir(resolve(projectDir));
  if (!gitDir) return undefined;
  try {
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40,64}$/.test(head)) return head;
    const ref = /^ref: (refs\/\S+)$/.exec(head)?.[1];
    if (!ref) return undefined;
    // A worktree keeps HEAD of its own but shares refs with the main repository (commondir).
    const common = existsSync(join(gitDir, 'commondir')) ? resolve(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim()) : gitDir;
    for (const dir of [gitDir, common]) {
      if (existsSync(join(dir, ref))) {
        const loose = readFileSync(join(dir, ref), 'utf8').trim();
        if (/^[0-9a-f]{40,64}$/.test(loose)) return loose;
      }
    }
    const packed = existsSync(join(common, 'packed-refs')) ? readFileSync(join(common, 'packed-refs'), 'utf8') : '';
    return packed.split('\n').map((line) => line.split(' ')).find(([hash, name]) => name === ref && /^[0-9a-f]{40,64}$/.test(hash ?? ''))?.[0];
  } catch {
    return undefined;
  }
}

function findGitDir(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const dotGit = join(dir, '.git');
    if (existsSync(dotGit)) {
      if (statSync(dotGit).isDirectory()) return dotGit;
      const pointer = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim();
      return pointer ? (isAbsolute(pointer) ? pointer : resolve(dir, pointer)) : undefined;
    }
    if (dirname(dir) === dir) return undefined;
  }
}
