import { readFileSync } from 'node:fs';
import { BerthError } from '../../../errors/BerthError.js';
import { execInContainer } from '../../lifecycle/exec.js';
import { validateProcess } from '../../spec/loadSpec.js';
import type { ProcessSpec } from '../../../oci/runtimeSpec.js';
import { StateStore } from '../../state/stateStore.js';
import type { GlobalOptions } from '../globalOptions.js';
import { list, parseArgs, str } from '../parseArgs.js';

export async function run(global: GlobalOptions, argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, {
    string: ['process', 'console-socket', 'cwd', 'user', 'pid-file', 'preserve-fds', 'process-label', 'apparmor', 'cgroup'],
    multi: ['env', 'cap', 'additional-gids'],
    boolean: ['tty', 'detach', 'no-new-privs', 'ignore-paused', 'no-subreaper'],
    alias: { p: 'process', t: 'tty', d: 'detach', e: 'env', u: 'user', c: 'cap', g: 'additional-gids' },
  }, 'exec');
  const [id, ...args] = positionals;
  if (!id) throw new BerthError('USAGE', 'exec: expected a container id');
  const store = new StateStore(global.root);
  const state = store.load(id);
  let proc: ProcessSpec;
  const processFile = str(flags.process);
  if (processFile) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(processFile === '-' ? 0 : processFile, 'utf8'));
    } catch (err) {
      throw new BerthError('CONFIG_INVALID', `exec: --process ${processFile}: ${(err as Error).message}`);
    }
    validateProcess(raw, 'process.json');
    proc = raw as ProcessSpec;
  } else {
    if (args.length === 0) throw new BerthError('USAGE', 'exec: expected a command to run (or --process FILE)');
    const base = state.spec.process!;
    proc = { ...structuredClone(base), args, terminal: flags.tty === true };
    const cwd = str(flags.cwd);
    if (cwd) proc.cwd = cwd;
    proc.env = [...(base.env ?? []), ...list(flags.env)];
    const user = str(flags.user);
    if (user) {
      const m = /^(\d+)(?::(\d+))?$/.exec(user);
      if (!m) throw new BerthError('USAGE', `exec: --user must be UID[:GID], got "${user}"`);
      proc.user = { ...proc.user, uid: Number(m[1]), gid: m[2] !== undefined ? Number(m[2]) : proc.user.gid };
    }
    const gids = list(flags['additional-gids']).map(Number);
    if (gids.some((g) => !Number.isInteger(g) || g < 0)) throw new BerthError('USAGE', 'exec: --additional-gids must be numbers');
    if (gids.length) proc.user.additionalGids = gids;
    if (flags['no-new-privs']) proc.noNewPrivileges = true;
    const caps = list(flags.cap);
    if (caps.length) {
      const c = (proc.capabilities ??= {});
      for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) c[set] = [...new Set([...(c[set] ?? []), ...caps])];
    }
  }
  const preserve = str(flags['preserve-fds']) ?? '0';
  if (!/^\d+$/.test(preserve)) throw new BerthError('USAGE', 'exec: --preserve-fds must be a number');
  return execInContainer({
    root: global.root,
    id,
    process: proc,
    detach: flags.detach === true,
    pidFile: str(flags['pid-file']),
    consoleSocket: str(flags['console-socket']),
    preserveFds: Number(preserve),
  });
}
