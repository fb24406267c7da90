import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BerthError } from '../../../errors/BerthError.js';
import { defaultSpec } from '../../spec/defaultSpec.js';
import type { GlobalOptions } from '../globalOptions.js';
import { parseArgs, str } from '../parseArgs.js';

export async function run(_global: GlobalOptions, argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { string: ['bundle'], boolean: ['rootless'], alias: { b: 'bundle' } }, 'spec');
  if (positionals.length) throw new BerthError('USAGE', 'spec: takes no arguments');
  const dir = resolve(str(flags.bundle) ?? '.');
  const file = join(dir, 'config.json');
  if (existsSync(file)) throw new BerthError('ALREADY_EXISTS', `File ${file} exists. Remove it first`);
  const spec = defaultSpec({ rootless: flags.rootless === true, uid: process.getuid?.(), gid: process.getgid?.() });
  writeFileSync(file, `${JSON.stringify(spec, null, '\t')}\n`, { flag: 'wx' });
  return 0;
}
