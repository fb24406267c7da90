import minimist from 'minimist';
import { BerthError } from '../errors/BerthError.js';

/** One berth subcommand: parses its own flags, calls the library, prints, returns an exit status. */
export interface Command {
  name: string;
  /** Full help text shown by `berth NAME --help`. */
  usage: string;
  run(argv: string[]): Promise<number>;
}

export interface FlagSpec {
  string?: string[];
  boolean?: string[];
  alias?: Record<string, string | string[]>;
  default?: Record<string, unknown>;
  /** Stop at the first argument that is not a flag: what follows is a command line of its own (`berth run IMAGE sh -c x`). */
  stopEarly?: boolean;
}

/**
 * minimist with unknown flags refused: a typo must not silently change
 * what a copy or delete does. Boolean flags take only true or false as a value (`--tls-verify=nope` is a typo,
 * not "yes"), and a flag that is itself named `no-…` (`--no-trunc`) is that flag, not the negation of another.
 */
export function parseFlags(argv: string[], spec: FlagSpec, command: string): minimist.ParsedArgs {
  const known = new Set<string>(['help', 'h', 'debug', ...(spec.string ?? []), ...(spec.boolean ?? [])]);
  for (const [name, aliases] of Object.entries(spec.alias ?? {})) {
    known.add(name);
    for (const a of [aliases].flat()) known.add(a);
  }
  const booleans = new Set(spec.boolean ?? []);
  const end = argv.indexOf('--');
  const flags = end < 0 ? argv : argv.slice(0, end);
  for (const arg of flags) {
    const match = /^--?([^=]+)=(.*)$/s.exec(arg);
    if (match && booleans.has(match[1]!) && match[2] !== 'true' && match[2] !== 'false') {
      throw new BerthError('USAGE', `${command}: --${match[1]} takes true or false, not "${match[2]}"`);
    }
  }
  // minimist reads any --no-x as x=false; spelled --no-x=true it sets the declared no-x flag itself.
  const spelled = flags.map((arg) => (/^--no-[^=]+$/.test(arg) && booleans.has(arg.slice(2)) ? `${arg}=true` : arg));
  return minimist(end < 0 ? spelled : [...spelled, ...argv.slice(end)], {
    string: spec.string,
    boolean: ['help', 'debug', ...(spec.boolean ?? [])],
    alias: { h: 'help', ...(spec.alias ?? {}) },
    default: spec.default,
    stopEarly: spec.stopEarly === true,
    unknown: (arg) => {
      if (!arg.startsWith('-')) return true;
      const name = arg.replace(/^--?/, '').split('=')[0] ?? '';
      if (known.has(name) || (name.startsWith('no-') && known.has(name.slice(3)))) return true;
      throw new BerthError('USAGE', `${command}: unknown flag ${arg.split('=')[0]} (see berth ${command} --help)`);
    },
  });
}

/** Collect a flag that may be given several times as a list of strings. */
export function flagList(value: unknown): string[] {
  if (value === undefined || value === false) return [];
  return [value].flat().map(String);
}

export function requireArgs(args: string[], count: number, command: string, names: string): void {
  if (args.length !== count) throw new BerthError('USAGE', `${command}: expected ${names}, got ${args.length} argument(s) (see berth ${command} --help)`);
}
