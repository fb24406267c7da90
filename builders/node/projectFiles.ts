import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Never part of an application layer, whatever npm pack would take: tests, coverage, VCS and editor folders. */
const neverShipped = /(^|\/)(node_modules|\.git|\.svn|\.hg|\.vscode|\.idea|test|tests|__tests__|coverage)(\/|$)/;

/** What the image needs that npm pack leaves out of a tarball: the lockfile npm ci and npm ls read. */
const LOCKFILES = ['package-lock.json', 'npm-shrinkwrap.json'];

/**
 * A package's own files as `npm pack` chooses them — npm's own npm-packlist: the `files` list, `.npmignore` (or
 * `.gitignore` without one), package.json, README and LICENSE always, `.npmrc` and editor junk never — without
 * tests, coverage or VCS folders (the image is not the place for them), with the lockfile, and without `exclude`
 * patterns (a path or a directory, `*` within one segment). Paths are relative to `packageDir`.
 */
export async function applicationFiles(packageDir: string, pkg: Record<string, unknown>, exclude: string[]): Promise<Set<string>> {
  const excluded = exclude.map((p) => new RegExp(`^${p.replace(/^\.?\//, '').replace(/\/$/, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`));
  const { default: packlist } = await import('npm-packlist');
  // npm-packlist walks an arborist node; the root of a project needs only these fields (no bundled dependencies).
  const packed = await packlist({ path: packageDir, package: { ...pkg, bundleDependencies: undefined }, isProjectRoot: true, edgesOut: new Map() });
  const chosen = new Set<string>();
  for (const path of [...packed, ...LOCKFILES.filter((name) => existsSync(join(packageDir, name)))].sort()) {
    if (!neverShipped.test(path) && !excluded.some((e) => e.test(path))) chosen.add(path);
  }
  return chosen;
}
