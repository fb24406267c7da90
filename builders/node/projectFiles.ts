import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Never part of the application layer, whatever `files` says: dependencies, VCS, editors, tests, logs, secrets. */
const neverShipped = /^(node_modules|\.git|\.svn|\.hg|\.vscode|\.idea|test|tests|__tests__|coverage)(\/|$)|(^|\/)(\.npmrc|\.DS_Store|npm-debug\.log[^/]*|[^/]*\.swp)$/;

/** Always shipped, as npm pack ships them. */
const alwaysShipped = /^(package\.json|package-lock\.json|npm-shrinkwrap\.json|readme[^/]*|license[^/]*|licence[^/]*)$/i;

/**
 * The application's own files, chosen as `npm pack` chooses them in the common cases: the `files` list (paths and
 * directories) when package.json has one, else the whole project; package.json, the lockfile, README and LICENSE
 * always; dependencies, VCS and editor folders, tests and .npmrc never; `exclude` patterns (a path or a directory,
 * `*` within one segment) on top.
 */
export async function applicationFiles(projectDir: string, files: string[] | undefined, exclude: string[]): Promise<Set<string>> {
  const excluded = exclude.map((p) => new RegExp(`^${p.replace(/^\.?\//, '').replace(/\/$/, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`));
  const listed = files?.map((f) => f.replace(/^\.?\//, '').replace(/\/$/, ''));
  const chosen = new Set<string>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(projectDir, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (neverShipped.test(path) || excluded.some((e) => e.test(path))) continue;
      const st = await lstat(join(projectDir, path));
      if (st.isDirectory()) await walk(path);
      else if (!listed || alwaysShipped.test(path) || listed.some((l) => path === l || path.startsWith(`${l}/`))) chosen.add(path);
    }
  };
  await walk('');
  return chosen;
}
