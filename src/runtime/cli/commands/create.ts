import { BerthError } from '../../../errors/BerthError.js';
import { createContainer } from '../../lifecycle/create.js';
import { checkContainerId } from '../../state/containerId.js';
import type { GlobalOptions } from '../globalOptions.js';
import { parseArgs, str } from '../parseArgs.js';

export const createFlags = {
  string: ['bundle', 'pid-file', 'console-socket', 'preserve-fds'],
  boolean: ['no-pivot', 'no-new-keyring', 'detach'],
  alias: { b: 'bundle', d: 'detach' },
};

export function createOptionsFrom(global: GlobalOptions, argv: string[], command: string) {
  const { flags, positionals } = parseArgs(argv, createFlags, command);
  if (positionals.length !== 1) throw new BerthError('USAGE', `${command}: expected exactly one container id, got ${positionals.length}`);
  const preserve = str(flags['preserve-fds']) ?? '0';
  if (!/^\d+$/.test(preserve)) throw new BerthError('USAGE', `${command}: --preserve-fds must be a number`);
  return {
    flags,
    options: {
      root: global.root,
      id: checkContainerId(positionals[0]),
      bundle: str(flags.bundle) ?? process.cwd(),
      pidFile: str(flags['pid-file']),
      consoleSocket: str(flags['console-socket']),
      noPivot: flags['no-pivot'] === true,
      noNewKeyring: flags['no-new-keyring'] === true,
      rootless: global.rootless,
      preserveFds: Number(preserve),
    },
  };
}

export async function run(global: GlobalOptions, argv: string[]): Promise<number> {
  const { options } = createOptionsFrom(global, argv, 'create');
  await createContainer(options, 'create');
  return 0;
}
