import { BerthError } from '../../errors/BerthError.js';

export interface ArgSpec {
  /** Flags that take a value; a name listed in `multi` may repeat. */
  string?: string[];
  boolean?: string[];
  multi?: string[];
  alias?: Record<string, string>;
}

export interface ParsedArgs {
  flags: Record<string, string | boolean | string[]>;
  positionals: string[];
}

/**
 * runc (urfave/cli) style: `--flag value`, `--flag=value`, `-flag`, booleans, and parsing stops
 * at the first positional, so `exec ID sh -c x` passes `-c` to the container.
 */
export function parseArgs(argv: string[], spec: ArgSpec, where: string): ParsedArgs {
  const flags: ParsedArgs['flags'] = {};
  const strings = new Set(spec.string ?? []);
  const booleans = new Set(spec.boolean ?? []);
  const multi = new Set(spec.multi ?? []);
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    let name = eq >= 0 ? body.slice(0, eq) : body;
    name = spec.alias?.[name] ?? name;
    if ((name === 'help' || name === 'h') && !booleans.has(name) && !strings.has(name)) throw new HelpRequested(where, spec);
    if (booleans.has(name)) {
      flags[name] = eq >= 0 ? body.slice(eq + 1) !== 'false' : true;
    } else if (strings.has(name) || multi.has(name)) {
      let value: string;
      if (eq >= 0) value = body.slice(eq + 1);
      else {
        const next = argv[++i];
        if (next === undefined) throw new BerthError('USAGE', `${where ? `${where}: ` : ''}flag needs an argument: ${arg}`);
        value = next;
      }
      if (multi.has(name)) flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
      else flags[name] = value;
    } else {
      throw new BerthError('USAGE', `${where ? `${where}: ` : ''}flag provided but not defined: ${arg}`);
    }
  }
  return { flags, positionals: argv.slice(i) };
}

/** `CMD --help` or `-h` where the command defines neither: the caller prints the command's usage, as runc does. */
export class HelpRequested extends Error {
  constructor(readonly command: string, readonly spec: ArgSpec) {
    super(`${command} --help`);
  }
}

/** One line per flag, aliases beside their flag, for a command's help. */
export function describeFlags(spec: ArgSpec): string[] {
  const aliases = new Map<string, string[]>();
  for (const [short, long] of Object.entries(spec.alias ?? {})) aliases.set(long, [...(aliases.get(long) ?? []), short]);
  const names = [...(spec.string ?? []), ...(spec.multi ?? []), ...(spec.boolean ?? [])].sort();
  return names.map((name) => {
    const spelled = [`--${name}`, ...(aliases.get(name) ?? []).map((a) => `-${a}`)].join(', ');
    const value = spec.boolean?.includes(name) ? '' : ' value';
    return `  ${spelled}${value}${spec.multi?.includes(name) ? ' (may repeat)' : ''}`;
  });
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);
