import { BerthError } from '../../../errors/BerthError.js';
import { StateStore } from '../../state/stateStore.js';
import type { GlobalOptions } from '../globalOptions.js';
import { parseArgs, str } from '../parseArgs.js';

export async function run(global: GlobalOptions, argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { string: ['format'], boolean: ['quiet'], alias: { f: 'format', q: 'quiet' } }, 'list');
  if (positionals.length) throw new BerthError('USAGE', 'list: takes no arguments');
  const store = new StateStore(global.root);
  const states = store.ids().flatMap((id) => {
    try {
      return [store.publicState(store.load(id))];
    } catch {
      return [];
    }
  });
  if (flags.quiet) {
    for (const s of states) process.stdout.write(`${s.id}\n`);
    return 0;
  }
  const format = str(flags.format) ?? 'table';
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(states)}\n`);
    return 0;
  }
  if (format !== 'table') throw new BerthError('USAGE', `list: invalid format option "${format}"`);
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) process.stdout.write(`${r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join('')}\n`);
  return 0;
}
