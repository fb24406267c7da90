import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../src/errors/BerthError.js';
import type { ContainerConfig } from '../../src/oci/config.js';
import { runInRootfs } from '../../src/run/runInRootfs.js';
import { networkFileMounts, runStepSpec } from '../../src/run/runStepSpec.js';
import { dependencyPaths, packageNameOf, type Lockfile } from './lockfile.js';

export interface InstallScriptsOptions {
  /** The reified tree (the project's root, with node_modules), mounted at `appRoot` in the container. */
  staging: string;
  appRoot: string;
  lock: Lockfile;
  /** Lockfile paths of the packages whose scripts run. */
  packages: string[];
  /** The base image's unpacked rootfs (the container's lower layer; what the scripts write outside appRoot is dropped). */
  baseRootfs: string;
  baseConfig: ContainerConfig;
  /** Scratch space on one filesystem for the overlay's upper and work directories. */
  scratch: string;
  onProgress: (line: string) => void;
}

const LIFECYCLE = ['preinstall', 'install', 'postinstall'] as const;

/**
 * Run the packages' install scripts as `npm ci` runs them (preinstall, install, postinstall; `node-gyp rebuild` for
 * a binding.gyp without an install script; dependencies before their dependents), but inside the base image
 * through the runtime, so that what they compile matches the image's libc and Node, not the build host's. The
 * tree is bind-mounted read-write; the base's own files are an overlay that is thrown away. Output streams live;
 * a failing script fails the build with the package's name.
 */
export async function runInstallScripts(options: InstallScriptsOptions): Promise<void> {
  const { staging, lock } = options;
  for (const path of dependenciesFirst(lock, options.packages)) {
    const dir = join(staging, path);
    if (!existsSync(join(dir, 'package.json'))) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string; scripts?: Record<string, string> };
    const scripts = { ...pkg.scripts };
    if (!scripts.install && !scripts.preinstall && existsSync(join(dir, 'binding.gyp'))) scripts.install = 'node-gyp rebuild';
    const name = pkg.name ?? packageNameOf(path, lock.packages?.[path]);
    for (const event of LIFECYCLE) {
      const script = scripts[event];
      if (!script) continue;
      options.onProgress(`dependencies: ${name} ${event}: ${script}`);
      const status = await runScript(options, path, { event, script, name, version: pkg.version ?? '' });
      if (status !== 0) throw new BerthError('BUILD_FAILED', `build-node: the ${event} script of ${name} failed with exit status ${status} (${script}); --ignore-scripts builds without running install scripts`);
    }
  }
}

async function runScript(options: InstallScriptsOptions, path: string, run: { event: string; script: string; name: string; version: string }): Promise<number> {
  const scratch = mkdtempSync(join(options.scratch, 'script-'));
  const [upper, work, files] = ['upper', 'work', 'files'].map((d) => join(scratch, d));
  for (const d of [upper, work, files]) mkdirSync(d!);
  const cwd = `${options.appRoot}/${path}`;
  const binDirs: string[] = [];
  for (let dir = path; ; dir = dir.includes('/') ? dir.slice(0, dir.lastIndexOf('/')) : '') {
    if (dir.slice(dir.lastIndexOf('/') + 1) !== 'node_modules') binDirs.push(`${options.appRoot}${dir ? `/${dir}` : ''}/node_modules/.bin`);
    if (dir === '') break;
  }
  const baseEnv = options.baseConfig.Env ?? [];
  const basePath = baseEnv.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  const env = [
    ...baseEnv.filter((e) => !e.startsWith('PATH=')),
    `PATH=${[...binDirs, basePath].join(':')}`,
    ...(baseEnv.some((e) => e.startsWith('HOME=')) ? [] : ['HOME=/root']),
    `INIT_CWD=${options.appRoot}`,
    'npm_command=ci',
    `npm_lifecycle_event=${run.event}`,
    `npm_lifecycle_script=${run.script}`,
    `npm_package_name=${run.name}`,
    `npm_package_version=${run.version}`,
    `npm_package_json=${cwd}/package.json`,
  ];
  // Scripts fetch prebuilt binaries or headers as they do under npm: the build's network.
  const mounts = [...networkFileMounts(files!, 'host'), { destination: options.appRoot, type: 'bind' as const, source: options.staging, options: ['rbind', 'rw'] }];
  return runInRootfs({
    rootfs: { lower: [options.baseRootfs], upper: upper!, work: work! },
    spec: runStepSpec({ args: ['/bin/sh', '-c', run.script], env, cwd, uid: 0, gid: 0 }, 'host', mounts),
    stdio: ['ignore', 2, 2],
    stateRoot: scratch,
  });
}

/** The packages in an order where each comes after the packages (of the list) it depends on. */
function dependenciesFirst(lock: Lockfile, packages: string[]): string[] {
  const wanted = new Set(packages);
  const ordered: string[] = [];
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const dependency of dependencyPaths(lock, path, false)) if (wanted.has(dependency)) visit(dependency);
    ordered.push(path);
  };
  for (const path of [...packages].sort()) visit(path);
  return ordered;
}
