import { BerthError } from '../../../errors/BerthError.js';
import { deleteContainer } from '../../lifecycle/delete.js';
import type { GlobalOptions } from '../globalOptions.js';
import { parseArgs } from '../parseArgs.js';

export async function run(global: GlobalOptions, argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { boolean: ['force'], alias: { f: 'force' } }, 'delete');
  if (positionals.length < 1) throw new BerthError('USAGE', 'delete: expected at least one container id');
  let status = 0;
  for (const id of positionals) {
    try {
      deleteContainer(global.root, id, flags.force === true);
    } catch (err) {
      if (positionals.length === 1) throw err;
      process.stderr.write(`berth-runc: ${(err as Error).message}\n`);
      status = 1;
    }
  }
  return status;
}
