import semver from 'semver';
import { BerthError } from '../../src/errors/BerthError.js';
import type { ContainerConfig } from '../../src/oci/config.js';

export interface PackageJson {
  name?: string;
  version?: string;
  description?: string;
  license?: string;
  main?: string;
  bin?: string | Record<string, string>;
  scripts?: Record<string, string>;
  files?: string[];
  repository?: string | { url?: string };
  engines?: { node?: string };
}

/**
 * The base when none is given, from `engines.node` as a Node team would pick it: the official image of the lowest
 * major version the range allows (`>=20.10` → docker.io/library/node:20-slim). Without a usable range, one line asks
 * for --base.
 */
export function defaultNodeBase(pkg: PackageJson): string {
  const range = pkg.engines?.node;
  let major: number | undefined;
  try {
    major = range ? semver.minVersion(range)?.major : undefined;
  } catch {
    major = undefined;
  }
  if (major === undefined || major === 0) {
    throw new BerthError('USAGE', `build-node: give --base IMAGE (an image with Node, e.g. docker.io/library/node:22-slim), or an engines.node range in package.json${range ? ` (${JSON.stringify(range)} names no version)` : ''}`);
  }
  return `docker.io/library/node:${major}-slim`;
}

export interface ConfigChoices {
  /** Where the application is (its WorkingDir; bin and main are run from there). */
  appRoot: string;
  entrypoint?: string[];
  env: string[];
  labels: Record<string, string>;
  ports: string[];
  user?: string;
}

/** What to run: --entrypoint, else the package's single bin, else main with node, else npm start's command. */
export function entrypointFor(pkg: PackageJson, chosen: string[] | undefined, appRoot = '/app'): string[] {
  if (chosen) return chosen;
  const bins = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {});
  if (bins.length === 1) return ['node', `${appRoot}/${bins[0]!.replace(/^\.\//, '')}`];
  if (pkg.main) return ['node', `${appRoot}/${pkg.main.replace(/^\.\//, '')}`];
  if (pkg.scripts?.start) return ['/bin/sh', '-c', pkg.scripts.start];
  throw new BerthError('USAGE', 'build-node: nothing to run: package.json has no single bin, no main and no start script; give --entrypoint');
}

/** The container config on top of the base's: the app root, NODE_ENV=production, the entrypoint, labels from package.json. */
export function nodeContainerConfig(base: ContainerConfig, pkg: PackageJson, choices: ConfigChoices): ContainerConfig {
  const labels: Record<string, string> = { ...base.Labels };
  const set = (key: string, value: string | undefined) => {
    if (value) labels[`org.opencontainers.image.${key}`] = value;
  };
  set('title', pkg.name);
  set('version', pkg.version);
  set('description', pkg.description);
  set('licenses', pkg.license);
  set('source', typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url);
  Object.assign(labels, choices.labels);
  const env = [...(base.Env ?? []).filter((e) => !e.startsWith('NODE_ENV=')), 'NODE_ENV=production', ...choices.env];
  const ports = Object.fromEntries([...Object.keys(base.ExposedPorts ?? {}), ...choices.ports.map((p) => (p.includes('/') ? p : `${p}/tcp`))].map((p) => [p, {}]));
  const config: ContainerConfig = { ...base, Env: env, WorkingDir: choices.appRoot, Entrypoint: entrypointFor(pkg, choices.entrypoint, choices.appRoot), Labels: labels };
  delete config.Cmd;
  if (Object.keys(ports).length) config.ExposedPorts = ports;
  if (choices.user !== undefined) config.User = choices.user;
  return config;
}
