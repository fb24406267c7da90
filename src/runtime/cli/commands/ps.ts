import { spawnSync } from 'node:child_process';
import { BerthError } from '../../../errors/BerthError.js';
import { cgroupPids } from '../../cgroups/containerCgroup.js';
import { StateStore } from '../../state/stateStore.js';
import type { GlobalOptions } from '../globalOptions.js';
import { parseArgs, str } from '../parseArgs.js';

/** As runc: `ps ARGS` (default -ef) on the host, keeping the header and the container's processes. */
export async function run(global: GlobalOptions, argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { string: ['format'], alias: { f: 'format' } }, 'ps');
  const [id, ...psArgs] = positionals;
  if (!id) throw new BerthError('USAGE', 'ps: expected a container id');
  const store = new StateStore(global.root);
  const state = store.load(id);
  if (store.status(state) === 'stopped') throw new BerthError('CONTAINER_STATE', 'container is not running');
  const pids = cgroupPids(state.cgroupDirs);
  const format = str(flags.format) ?? 'table';
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(pids)}\n`);
    return 0;
  }
  if (format !== 'table') throw new BerthError('USAGE', `ps: invalid format "${format}"`);
  const ps = spawnSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8' });
  if (ps.status !== 0) throw new BerthError('RUNTIME_ERROR', `ps failed: ${(ps.stderr || String(ps.error ?? '')).trim()}`);
  const [header = '', ...lines] = ps.stdout.split('\n');
  const pidColumn = header.trim().split(/\s+/).indexOf('PID');
  if (pidColumn < 0) throw new BerthError('USAGE', 'ps: the output has no PID column');
  const keep = new Set(pids);
  process.stdout.write(`${header}\n`);
  for (const line of lines) if (keep.has(Number(line.trim().split(/\s+/)[pidColumn]))) process.stdout.write(`${line}\n`);
  return 0;
}
