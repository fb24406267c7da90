import { BerthError } from '../../../errors/BerthError.js';
import { startContainer } from '../../lifecycle/start.js';
import type { GlobalOptions } from '../globalOptions.js';
import { parseArgs } from '../parseArgs.js';

export async function run(global: GlobalOptions, argv: string[]): Promise<number> {
  const { positionals } = parseArgs(argv, {}, 'start');
  if (positionals.length !== 1) throw new BerthError('USAGE', 'start: expected exactly one container id');
  startContainer(global.root, positionals[0]!);
  return 0;
}
