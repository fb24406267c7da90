import { BerthError } from '../../../errors/BerthError.js';
import { StateStore } from '../../state/stateStore.js';
import type { GlobalOptions } from '../globalOptions.js';
import { parseArgs } from '../parseArgs.js';

export async function run(global: GlobalOptions, argv: string[]): Promise<number> {
  const { positionals } = parseArgs(argv, {}, 'state');
  if (positionals.length !== 1) throw new BerthError('USAGE', 'state: expected exactly one container id');
  const store = new StateStore(global.root);
  process.stdout.write(`${JSON.stringify(store.publicState(store.load(positionals[0]!)), null, 2)}\n`);
  return 0;
}
