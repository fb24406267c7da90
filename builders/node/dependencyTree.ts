import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { BerthError } from '../../src/errors/BerthError.js';

export interface ReifyOptions {
  includeDev: boolean;
  /** The project's own package directories (workspaces, `file:` directories inside it). */
  localDirs: string[];
  /** Install only this workspace (by name) and what it needs, without the root's own dependencies (`npm -w`). */
  workspace?: string;
  /** Choose optional packages for this operating system and CPU (npm's --os/--cpu), not the build host's. */
  os?: string;
  cpu?: string;
  registry?: string;
}

/**
 * The production tree as `npm ci --omit=dev` lays it out, reified by @npmcli/arborist from the lockfile into a
 * staging directory: package.json and the lockfile copied, the project's own packages copied (npm writes their
 * nested node_modules and makes their bins executable, which must not touch the project), everything else linked
 * so that `file:` tarballs resolve as they do in place. Packages come from npm's cache or the configured registry.
 * Install scripts are not run here, on the build host.
 */
export async function reifyProductionTree(projectDir: string, scratch: string, options: ReifyOptions): Promise<string> {
  const staging = mkdtempSync(join(scratch, 'node-tree-'));
  chmodSync(staging, 0o755);
  stageProject(projectDir, staging, options.localDirs);
  const { default: Arborist } = await import('@npmcli/arborist');
  const arborist = new Arborist({
    path: staging,
    cache: join(process.env.npm_config_cache ?? join(homedir(), '.npm'), '_cacache'),
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.workspace ? { workspaces: [options.workspace], includeWorkspaceRoot: false, workspacesEnabled: true } : {}),
    ...(options.os ? { os: options.os } : {}),
    ...(options.cpu ? { cpu: options.cpu } : {}),
    ignoreScripts: true,
    audit: false,
    fund: false,
  });
  try {
    await arborist.reify({ omit: options.includeDev ? [] : ['dev'], save: false, ...(options.workspace ? { workspaces: [options.workspace] } : {}) });
  } catch (err) {
    throw new BerthError('NETWORK_ERROR', `build-node: installing the dependencies failed: ${((err as Error).message ?? String(err)).split('\n')[0]}`);
  }
  return staging;
}

function stageProject(projectDir: string, staging: string, localDirs: string[]): void {
  const holdsLocal = (rel: string) => localDirs.some((dir) => dir.startsWith(`${rel}/`));
  const walk = (rel: string) => {
    for (const name of readdirSync(join(projectDir, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      if (name === 'node_modules') continue;
      if (rel === '' && (name === 'package.json' || name === 'package-lock.json' || name === 'npm-shrinkwrap.json')) {
        writeFileSync(join(staging, name), readFileSync(join(projectDir, name)));
      } else if (localDirs.includes(path)) {
        cpSync(join(projectDir, path), join(staging, path), { recursive: true, filter: (source) => basename(source) !== 'node_modules' });
      } else if (holdsLocal(path)) {
        mkdirSync(join(staging, path), { mode: 0o755 });
        walk(path);
      } else {
        symlinkSync(join(projectDir, path), join(staging, path));
      }
    }
  };
  walk('');
}

/** The registry npm is configured for in the project's .npmrc or the environment, if any. */
export function configuredRegistry(projectDir: string): string | undefined {
  const fromEnv = process.env.npm_config_registry ?? process.env.NPM_CONFIG_REGISTRY;
  if (fromEnv) return fromEnv;
  const npmrc = join(projectDir, '.npmrc');
  if (!existsSync(npmrc)) return undefined;
  return /^\s*registry\s*=\s*(\S+)\s*$/m.exec(readFileSync(npmrc, 'utf8'))?.[1];
}
