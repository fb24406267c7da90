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
 * what a copy or delete does.
 */
export function parseFlags(argv: string[], spec: FlagSpec, command: string): minimist.ParsedArgs {
  const known = new Set<string>(['help', 'h', 'debug', ...(spec.string ?? []), ...(spec.boolean ?? [])]);
  for (const [name, aliases] of Object.entries(spec.alias ?? {})) {
    known.add(name);
    for (const a of [aliases].flat()) known.add(a);
  }
  return minimist(argv, {
    string: spec.string,
    boolean: ['help', 'debug', ...(spec.boolean ?? [])],
    alias: { h: 'help', ...(spec.alias ?? {}) },
    default: spec.default,
    stopEarly: spec.stopEarly === true,
    unknown: (arg) => {
      if (!arg.startsWith('-')) return true;
      const name = arg.replace(/^--?(no-)?/, '').split('=')[0] ?? '';
      if (known.has(name)) return true;
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
