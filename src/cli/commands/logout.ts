import { removeLogin } from '../../credentials/login.js';
import { BerthError } from '../../errors/BerthError.js';
import { parseFlags, type Command, type FlagSpec } from '../command.js';
import { loginKey } from './login.js';

const flagSpec: FlagSpec = { string: ['authfile'], boolean: ['all'], alias: { a: 'all' } };

export const logoutCommand: Command = {
  name: 'logout',
  flags: flagSpec,
  usage: `
Usage: berth logout [OPTIONS] REGISTRY
       berth logout --all

Remove the credentials berth login (or skopeo/podman login) stored for REGISTRY.

Options:
  -a, --all                   remove every stored login from the auth file
      --authfile FILE         auth file to edit
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'logout');
    const args = flags._.map(String);
    const authFile = flags.authfile === undefined ? undefined : String(flags.authfile);
    if (flags.all) {
      if (args.length > 0) throw new BerthError('USAGE', 'logout: --all takes no REGISTRY');
      await removeLogin(undefined, authFile);
      process.stdout.write('Removed login credentials for all registries\n');
      return 0;
    }
    if (args.length !== 1) throw new BerthError('USAGE', 'logout: expected REGISTRY (or --all)');
    const key = loginKey(args[0]!);
    await removeLogin(key, authFile);
    process.stdout.write(`Removed login credentials for ${key}\n`);
    return 0;
  },
};
