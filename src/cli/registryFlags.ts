import type minimist from 'minimist';
import { DEFAULT_RETRY_TIMES, type RegistryOptions } from '../../registry/client/index.js';
import { BerthError } from '../errors/BerthError.js';
import { exitCodeFor } from './exitCodes.js';
import type { TransportOptions } from '../transports/types.js';
import type { FlagSpec } from './command.js';

/**
 * The registry flags skopeo users know, shared by copy, sync, inspect,
 * delete and list-tags. `prefix` is '' for one-sided commands and
 * 'src-' / 'dest-' for the two sides of copy and sync.
 */
const perSide = ['creds', 'registry-token', 'cert-dir', 'authfile'];
const perSideBoolean = ['tls-verify'];

export function registryFlagSpec(sides: 'one' | 'two'): FlagSpec {
  const prefixes = sides === 'one' ? [''] : ['src-', 'dest-'];
  const string = ['retry-times', 'retry-delay', 'registries-conf', 'authfile', 'command-timeout'];
  const boolean: string[] = [];
  const defaults: Record<string, unknown> = {};
  for (const prefix of prefixes) {
    for (const name of perSide) string.push(`${prefix}${name}`);
    // --no-creds is minimist's negation of --creds; the prefixed forms are flags of their own.
    if (prefix !== '') boolean.push(`${prefix}no-creds`);
    for (const name of perSideBoolean) {
      boolean.push(`${prefix}${name}`);
      defaults[`${prefix}${name}`] = true;
    }
  }
  return { string: [...new Set(string)], boolean, default: defaults, ...(sides === 'one' ? { negatable: ['creds'] } : {}) };
}

/** Merge several flag specs (a command's own and the registry ones). */
export function mergeFlagSpecs(...specs: FlagSpec[]): FlagSpec {
  return {
    string: specs.flatMap((s) => s.string ?? []),
    boolean: specs.flatMap((s) => s.boolean ?? []),
    alias: Object.assign({}, ...specs.map((s) => s.alias ?? {})),
    default: Object.assign({}, ...specs.map((s) => s.default ?? {})),
    negatable: specs.flatMap((s) => s.negatable ?? []),
  };
}

/** TransportOptions for one side, from parsed flags. */
export function transportOptionsFrom(flags: minimist.ParsedArgs, prefix: '' | 'src-' | 'dest-'): TransportOptions {
  const registry: RegistryOptions = {};
  const str = (name: string): string | undefined => {
    const value = flags[name] as unknown;
    if (value === undefined || value === false) return undefined;
    // As with skopeo's flags, the last of repeated values wins.
    return String(Array.isArray(value) ? value[value.length - 1] : value);
  };
  const creds = str(`${prefix}creds`);
  if (creds !== undefined) {
    if (!creds.includes(':') || creds.startsWith(':')) throw new BerthError('USAGE', `--${prefix}creds must be USERNAME:PASSWORD`);
    registry.creds = creds;
  }
  const noCreds = prefix === '' ? flags.creds === false : flags[`${prefix}no-creds`] === true;
  if (noCreds) {
    if (creds !== undefined) throw new BerthError('USAGE', `--${prefix}creds and --${prefix}no-creds cannot be used together`);
    registry.noCreds = true;
  }
  const token = str(`${prefix}registry-token`);
  if (token !== undefined) registry.registryToken = token;
  if (creds !== undefined && token !== undefined) throw new BerthError('USAGE', `--${prefix}creds and --${prefix}registry-token cannot be used together`);
  const certDir = str(`${prefix}cert-dir`);
  if (certDir !== undefined) registry.certDir = certDir;
  const authFile = str(`${prefix}authfile`) ?? str('authfile');
  if (authFile !== undefined) registry.authFile = authFile;
  if (flags[`${prefix}tls-verify`] === false) registry.tlsVerify = false;
  const retryTimes = str('retry-times');
  if (retryTimes !== undefined) {
    const n = Number(retryTimes);
    if (!Number.isInteger(n) || n < 0 || n > 100) throw new BerthError('USAGE', '--retry-times takes a whole number from 0 to 100');
    registry.retryTimes = n;
  }
  const retryDelay = str('retry-delay');
  if (retryDelay !== undefined) registry.retryDelayMs = parseDuration(retryDelay, '--retry-delay');
  const conf = str('registries-conf');
  if (conf !== undefined) registry.registriesConf = conf;
  const commandTimeout = str('command-timeout');
  if (commandTimeout !== undefined) armCommandTimeout(parseDuration(commandTimeout, '--command-timeout'));
  return { registry: registry as Record<string, unknown> };
}

let commandDeadline: NodeJS.Timeout | undefined;

/**
 * skopeo's --command-timeout: the whole command gets this long, however many requests and retries it makes. At the
 * deadline the process ends with one line; destinations only ever show what was committed (temp files and renames).
 */
function armCommandTimeout(ms: number): void {
  if (commandDeadline) return;
  commandDeadline = setTimeout(() => {
    process.stderr.write(`berth: the command did not finish within --command-timeout (${ms / 1000} s)\n`);
    process.exit(exitCodeFor('TIMEOUT'));
  }, ms);
  commandDeadline.unref();
}

/** How often a copy starts a broken blob transfer over: as often as a request is retried (--retry-times). */
export function blobRetriesFrom(options: TransportOptions): number {
  return options.registry?.retryTimes ?? DEFAULT_RETRY_TIMES;
}

/** Go-style durations as skopeo takes them (`500ms`, `2s`, `1m`); a bare number is seconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new BerthError('USAGE', `${flag} takes a duration such as 500ms, 2s or 1m`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
  return Math.round(Number(match[1]) * unit);
}

export const registryFlagsUsageOne = `
      --creds USER:PASS       credentials for the registry
      --no-creds              access the registry anonymously
      --registry-token TOKEN  a bearer token for the registry
      --authfile FILE         auth file to use (default: $REGISTRY_AUTH_FILE, containers auth.json, docker config.json)
      --tls-verify=false      do not verify TLS certificates; allow plain HTTP
      --cert-dir DIR          CA certificates (*.crt) and client key pair (*.cert, *.key)
      --retry-times N         retry failed requests N times (default 3)
      --retry-delay DURATION  first delay between retries (default 1s; doubles; Retry-After wins)
      --registries-conf FILE  containers-registries.conf to use
      --command-timeout DURATION  give up on the whole command after DURATION (e.g. 30s, 5m)`;

export const registryFlagsUsageTwo = `
      --src-creds USER:PASS / --dest-creds USER:PASS      credentials per side
      --src-no-creds / --dest-no-creds                    anonymous access per side
      --src-registry-token T / --dest-registry-token T    bearer tokens per side
      --src-tls-verify=false / --dest-tls-verify=false    skip TLS verification (allows plain HTTP)
      --src-cert-dir DIR / --dest-cert-dir DIR            certificates per side
      --authfile FILE (or --src-authfile / --dest-authfile) auth file to use
      --retry-times N         retry failed requests N times (default 3)
      --retry-delay DURATION  first delay between retries (default 1s; doubles; Retry-After wins)
      --registries-conf FILE  containers-registries.conf to use
      --command-timeout DURATION  give up on the whole command after DURATION (e.g. 30s, 5m)`;
