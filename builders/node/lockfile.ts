import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../src/errors/BerthError.js';

export interface LockedPackage {
  name?: string;
  version?: string;
  resolved?: string;
  link?: boolean;
  dev?: boolean;
  optional?: boolean;
  hasInstallScript?: boolean;
  bin?: string | Record<string, string>;
  os?: string[];
  cpu?: string[];
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

export interface Lockfile {
  lockfileVersion?: number;
  /** Every package by its path in the project ("" the project, "node_modules/x", "packages/app"). */
  packages?: Record<string, LockedPackage>;
}

/** A package of the project itself (a workspace, a `file:` directory inside the project), by its directory. */
export interface LocalPackage {
  dir: string;
  name: string;
  /** Its bin files, relative to its directory (npm makes them executable). */
  bins: string[];
}

/** The project's lockfile (npm-shrinkwrap.json wins, as npm reads it), or one line saying how to make one. */
export function readLockfile(projectDir: string): { name: string; bytes: Buffer; lock: Lockfile } {
  for (const name of ['npm-shrinkwrap.json', 'package-lock.json']) {
    const path = join(projectDir, name);
    if (!existsSync(path)) continue;
    const bytes = readFileSync(path);
    try {
      return { name, bytes, lock: JSON.parse(bytes.toString('utf8')) as Lockfile };
    } catch {
      throw new BerthError('CONFIG_INVALID', `build-node: ${path} is not valid JSON`);
    }
  }
  throw new BerthError('USAGE', `build-node: ${projectDir} has no package-lock.json; make one with "npm install --package-lock-only"`);
}

/** npm ci's check: the lockfile must describe the package.json it sits beside. */
export function checkLockfileInSync(pkg: Record<string, unknown>, lock: Lockfile): void {
  const root = lock.packages?.[''];
  if (!root || (lock.lockfileVersion ?? 1) < 2) throw new BerthError('USAGE', 'build-node: the lockfile is older than lockfile version 2; run "npm install --package-lock-only" with npm 7 or later');
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies'] as const) {
    const wanted = JSON.stringify(Object.entries((pkg[field] as Record<string, string> | undefined) ?? {}).sort());
    const locked = JSON.stringify(Object.entries(root[field] ?? {}).sort());
    if (wanted !== locked) throw new BerthError('USAGE', `build-node: package.json and the lockfile disagree on ${field}; run "npm install" to update the lockfile`);
  }
}

const isInstalledPath = (path: string) => /(^|\/)node_modules\//.test(path);

/** Whether the lockfile names any package the image needs (no dependencies: no dependency layer). */
export function hasProductionPackages(lock: Lockfile, includeDev: boolean): boolean {
  return Object.entries(lock.packages ?? {}).some(([path, p]) => isInstalledPath(path) && (includeDev || !p.dev));
}

/** Paths of the packages that would run install scripts (npm marks them hasInstallScript in the lockfile). */
export function packagesWithInstallScripts(lock: Lockfile, includeDev: boolean): string[] {
  return Object.entries(lock.packages ?? {}).filter(([path, p]) => path !== '' && p.hasInstallScript && (includeDev || !p.dev)).map(([path]) => path);
}

/** Whether some package is only for some operating systems or CPUs (then each platform gets its own tree). */
export function hasPlatformPackages(lock: Lockfile): boolean {
  return Object.values(lock.packages ?? {}).some((p) => p.os !== undefined || p.cpu !== undefined);
}

/** The package name a lockfile path installs (`node_modules/@a/b` → `@a/b`). */
export function packageNameOf(path: string, entry?: LockedPackage): string {
  return entry?.name ?? path.replace(/^.*node_modules\//, '');
}

/**
 * The project's own packages: the directories the lockfile links into node_modules. A `file:` directory outside
 * the project is refused: an image of the project cannot hold it.
 */
export function localPackages(lock: Lockfile): LocalPackage[] {
  const packages = lock.packages ?? {};
  const linkedAs = new Map<string, string>();
  for (const [path, entry] of Object.entries(packages)) if (entry.link && entry.resolved) linkedAs.set(entry.resolved, packageNameOf(path));
  const local: LocalPackage[] = [];
  for (const [dir, entry] of Object.entries(packages)) {
    if (dir === '' || isInstalledPath(dir)) continue;
    const name = entry.name ?? linkedAs.get(dir) ?? dir;
    if (dir.startsWith('../') || dir.startsWith('/')) {
      throw new BerthError('UNSUPPORTED', `build-node: ${name} is a file: dependency outside the project (${dir}), which an image of the project cannot hold; move it into the project or depend on its tarball`);
    }
    const bins = typeof entry.bin === 'string' ? [entry.bin] : Object.values(entry.bin ?? {});
    local.push({ dir, name, bins: bins.map((b) => b.replace(/^\.\//, '')) });
  }
  return local;
}

/** Where a package at `from` finds `name`, as Node resolves it: its own node_modules, then each parent's. */
export function resolveLocked(lock: Lockfile, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (lock.packages?.[candidate]) return candidate;
    if (!dir) return undefined;
    dir = dir.includes('/') ? dir.slice(0, dir.lastIndexOf('/')) : '';
  }
}

/** The lockfile path a dependency path leads to: a link's target directory, else the path itself. */
export function targetOf(lock: Lockfile, path: string): string {
  const entry = lock.packages?.[path];
  return entry?.link && entry.resolved ? entry.resolved : path;
}

/** The dependencies a package declares, by the lockfile path each resolves to (links followed). */
export function dependencyPaths(lock: Lockfile, path: string, includeDev: boolean): string[] {
  const entry = lock.packages?.[path] ?? {};
  const names = Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...(includeDev ? entry.devDependencies : {}) });
  return names.flatMap((name) => {
    const found = resolveLocked(lock, path, name);
    return found ? [targetOf(lock, found)] : [];
  });
}

/** The local packages `dir` needs, directly or through other local packages (itself not included). */
export function localDependencies(lock: Lockfile, dir: string, local: LocalPackage[], includeDev: boolean): LocalPackage[] {
  const byDir = new Map(local.map((p) => [p.dir, p]));
  const needed = new Set<string>();
  const visit = (from: string, dev: boolean) => {
    for (const target of dependencyPaths(lock, from, dev)) {
      if (!byDir.has(target) || needed.has(target) || target === dir) continue;
      needed.add(target);
      visit(target, false);
    }
  };
  visit(dir, includeDev);
  return local.filter((p) => needed.has(p.dir));
}

/** The workspace `--workspace` names, by its package name or its directory (as `npm -w` takes either). */
export function findWorkspace(local: LocalPackage[], wanted: string): LocalPackage {
  const dir = wanted.replace(/^\.\//, '').replace(/\/+$/, '');
  const found = local.find((p) => p.name === wanted || p.dir === dir);
  if (!found) {
    const known = local.map((p) => p.name).join(', ');
    throw new BerthError('USAGE', `build-node: no workspace named ${wanted}${known ? ` (the project has ${known})` : ' (the project has no workspaces)'}`);
  }
  return found;
}
