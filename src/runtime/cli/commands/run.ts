import { runContainer } from '../../lifecycle/run.js';
import type { GlobalOptions } from '../globalOptions.js';
import { createOptionsFrom } from './create.js';

export async function run(global: GlobalOptions, argv: string[]): Promise<number> {
  const keep = argv.includes('--keep');
  const { flags, options } = createOptionsFrom(global, argv.filter((a) => a !== '--keep'), 'run');
  return runContainer({ ...options, detach: flags.detach === true, keep });
}
