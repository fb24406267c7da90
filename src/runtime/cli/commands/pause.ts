import { BerthError } from '../../../errors/BerthError.js';
import type { GlobalOptions } from '../globalOptions.js';

export async function run(_global: GlobalOptions, _argv: string[]): Promise<number> {
  throw new BerthError('NOT_IMPLEMENTED', 'pause is not implemented in berth-runc yet');
}
