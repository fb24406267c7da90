import { BerthError } from '../../../errors/BerthError.js';
import { setFrozen } from '../../lifecycle/freezer.js';
import type { GlobalOptions } from '../globalOptions.js';
import { parseArgs } from '../parseArgs.js';

export async function run(global: GlobalOptions, argv: string[]): Promise<number> {
  const { positionals } = parseArgs(argv, {}, 'resume');
  if (positionals.length !== 1) throw new BerthError('USAGE', 'resume: expected exactly one container id');
  setFrozen(global.root, positionals[0]!, false);
  return 0;
}
