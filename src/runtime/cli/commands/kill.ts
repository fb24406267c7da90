import { BerthError } from '../../../errors/BerthError.js';
import { killContainer } from '../../lifecycle/kill.js';
import type { GlobalOptions } from '../globalOptions.js';
import { parseArgs } from '../parseArgs.js';

export async function run(global: GlobalOptions, argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { boolean: ['all'], alias: { a: 'all' } }, 'kill');
  if (positionals.length < 1 || positionals.length > 2) throw new BerthError('USAGE', 'kill: usage: kill [--all] ID [SIGNAL]');
  killContainer(global.root, positionals[0]!, positionals[1], flags.all === true);
  return 0;
}
