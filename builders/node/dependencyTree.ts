import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../src/errors/BerthError.js';

interface Lockfile {
  lockfileVersion?: number;
  packages?: Record<string, { version?: string; dev?: boolean; hasInstallScript?: boolean; dependencies?: Record<string, string>; devDependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }>;
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

/** Production packages that would run install scripts (npm marks them hasInstallScript in the lockfile). */
export function packagesWithInstallScripts(lock: Lockfile, includeDev: boolean): string[] {
  return Object.entries(lock.packages ?? {}).filter(([path, p]) => path !== '' && p.hasInstallScript && (includeDev || !p.dev)).map(([path]) => path.replace(/^.*node_modules\//, ''));
}

/** Whether the lockfile names any package the image needs (no dependencies: no dependency layer). */
export function hasProductionPackages(lock: Lockfile, includeDev: boolean): boolean {
  return Object.entries(lock.packages ?? {}).some(([path, p]) => path !== '' && (includeDev || !p.dev));
}

/**
 * The production tree as `npm ci --omit=dev` lays it out, reified by @npmcli/arborist from the lockfile into a
 * staging directory: package.json and the lockfile copied, the project's other entries linked (so `file:`
 * dependencies resolve as they do in place), packages from npm's cache or the configured registry. Install scripts
 * are not run on the build host.
 */
export async function reifyProductionTree(projectDir: string, scratch: string, options: { includeDev: boolean; registry?: string }): Promise<string> {
  const staging = mkdtempSync(join(scratch, 'node-tree-'));
  for (const name of readdirSync(projectDir)) {
    if (name === 'node_modules') continue;
    if (name === 'package.json' || name === 'package-lock.json' || name === 'npm-shrinkwrap.json') writeFileSync(join(staging, name), readFileSync(join(projectDir, name)));
    else symlinkSync(join(projectDir, name), join(staging, name));
  }
  const { default: Arborist } = await import('@npmcli/arborist');
  const arborist = new Arborist({
    path: staging,
    cache: join(process.env.npm_config_cache ?? join(homedir(), '.npm'), '_cacache'),
    ...(options.registry ? { registry: options.registry } : {}),
    ignoreScripts: true,
    audit: false,
    fund: false,
  });
  try {
    await arborist.reify({ omit: options.includeDev ? [] : ['dev'], save: false });
  } catch (err) {
    throw new BerthError('NETWORK_ERROR', `build-node: installing the dependencies failed: ${((err as Error).message ?? String(err)).split('\n')[0]}`);
  }
  return staging;
}

/** The registry npm is configured for in the project's .npmrc or the environment, if any. */
export function configuredRegistry(projectDir: string): string | undefined {
  const fromEnv = process.env.npm_config_registry ?? process.env.NPM_CONFIG_REGISTRY;
  if (fromEnv) return fromEnv;
  const npmrc = join(projectDir, '.npmrc');
  if (!existsSync(npmrc)) return undefined;
  return /^\s*registry\s*=\s*(\S+)\s*$/m.exec(readFileSync(npmrc, 'utf8'))?.[1];
}
