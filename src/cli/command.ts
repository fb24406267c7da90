import minimist from 'minimist';
import { BerthError } from '../errors/BerthError.js';

/** One berth subcommand: parses its own flags, calls the library, prints, returns an exit status. */
export interface Command {
  name: string;
  /** Full help text shown by `berth NAME --help` (and the source of its man page). */
  usage: string;
  /** The flags its parser takes: also what shell completion offers. */
  flags: FlagSpec;
  /** Subcommands with flags of their own (`registry serve`, `registry gc`). */
  subcommands?: Record<string, FlagSpec>;
  run(argv: string[]): Promise<number>;
}

export interface FlagSpec {
  string?: string[];
  boolean?: string[];
  alias?: Record<string, string | string[]>;
  default?: Record<string, unknown>;
  /** String flags whose `--no-` form means something (`--no-creds`: anonymous); booleans are all negatable. */
  negatable?: string[];
  /** Stop at the first argument that is not a flag: what follows is a command line of its own (`berth run IMAGE sh -c x`). */
  stopEarly?: boolean;
}

/**
 * minimist with unknown flags refused: a typo must not silently change
 * what a copy or delete does. Boolean flags take only true or false as a value (`--tls-verify=nope` is a typo,
 * not "yes"), a flag that is itself named `no-…` (`--no-trunc`) is that flag, not the negation of another, and
 * `--no-x` of a string flag is refused unless that negation means something (`negatable`).
 */
export function parseFlags(argv: string[], spec: FlagSpec, command: string): minimist.ParsedArgs {
  const known = new Set<string>(['help', 'h', 'debug', ...(spec.string ?? []), ...(spec.boolean ?? [])]);
  for (const [name, aliases] of Object.entries(spec.alias ?? {})) {
    known.add(name);
    for (const a of [aliases].flat()) known.add(a);
  }
  const booleans = new Set(spec.boolean ?? []);
  const negatable = new Set(spec.negatable ?? []);
  const end = argv.indexOf('--');
  const flags = end < 0 ? argv : argv.slice(0, end);
  for (const arg of ownFlags(flags, spec)) {
    const negated = /^--no-([^=]+)(=|$)/.exec(arg)?.[1];
    // minimist would read it as x=false without asking: only a negation that means something passes.
    if (negated !== undefined && !known.has(`no-${negated}`) && !booleans.has(negated) && !negatable.has(negated)) {
      throw new BerthError('USAGE', `${command}: unknown flag --no-${negated} (see berth ${command} --help)`);
    }
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

/** The arguments that are this command's own: with stopEarly, those before its first operand (a flag's value skipped). */
function ownFlags(args: string[], spec: FlagSpec): string[] {
  if (!spec.stopEarly) return args;
  const valued = new Set([...(spec.string ?? []), ...Object.entries(spec.alias ?? {}).filter(([, to]) => [to].flat().some((t) => spec.string?.includes(t))).map(([from]) => from)]);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-') || arg === '-') return args.slice(0, i);
    if (!arg.includes('=') && valued.has(arg.replace(/^--?/, ''))) i++;
  }
  return args;
}

/** Collect a flag that may be given several times as a list of strings. */
export function flagList(value: unknown): string[] {
  if (value === undefined || value === false) return [];
  return [value].flat().map(String);
}

export function requireArgs(args: string[], count: number, command: string, names: string): void {
  if (args.length !== count) throw new BerthError('USAGE', `${command}: expected ${names}, got ${args.length} argument(s) (see berth ${command} --help)`);
}
