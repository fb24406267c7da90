import { BerthError } from '../../../errors/BerthError.js';
import { cgroupStats, oomKillCount } from '../../cgroups/stats.js';
import { StateStore } from '../../state/stateStore.js';
import type { GlobalOptions } from '../globalOptions.js';
import { parseArgs, str } from '../parseArgs.js';

function parseInterval(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!m) throw new BerthError('USAGE', `events: invalid --interval "${text}"`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

/** JSON lines as runc prints them: a stats event every interval, an oom event when the kernel OOM-kills inside. */
export async function run(global: GlobalOptions, argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { string: ['interval'], boolean: ['stats'] }, 'events');
  if (positionals.length !== 1) throw new BerthError('USAGE', 'events: expected exactly one container id');
  const id = positionals[0]!;
  const store = new StateStore(global.root);
  const state = store.load(id);
  if (store.status(state) === 'stopped') throw new BerthError('CONTAINER_STATE', `container with id ${id} is not running`);
  const emit = (type: string, data?: unknown) => process.stdout.write(`${JSON.stringify(data === undefined ? { type, id } : { type, id, data })}\n`);
  if (flags.stats) {
    emit('stats', cgroupStats(state.cgroupDirs));
    return 0;
  }
  const interval = parseInterval(str(flags.interval) ?? '5s');
  let ooms = oomKillCount(state.cgroupDirs);
  let lastStats = 0;
  while (store.status(state) !== 'stopped') {
    const now = Date.now();
    const count = oomKillCount(state.cgroupDirs);
    if (count > ooms) emit('oom');
    ooms = count;
    if (now - lastStats >= interval) {
      emit('stats', cgroupStats(state.cgroupDirs));
      lastStats = now;
    }
    await new Promise((r) => setTimeout(r, Math.min(interval, 200)));
  }
  return 0;
}
