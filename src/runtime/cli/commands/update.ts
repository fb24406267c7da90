import { readFileSync } from 'node:fs';
import { BerthError } from '../../../errors/BerthError.js';
import { applyResources } from '../../cgroups/containerCgroup.js';
import { listHierarchies } from '../../cgroups/hierarchies.js';
import type { ResourcesSpec } from '../../../oci/runtimeSpec.js';
import { StateStore } from '../../state/stateStore.js';
import type { GlobalOptions } from '../globalOptions.js';
import { parseArgs, str } from '../parseArgs.js';

const numberFlags: [string, (r: ResourcesSpec, v: number) => void][] = [
  ['memory', (r, v) => ((r.memory ??= {}).limit = v)],
  ['memory-swap', (r, v) => ((r.memory ??= {}).swap = v)],
  ['memory-reservation', (r, v) => ((r.memory ??= {}).reservation = v)],
  ['cpu-shares', (r, v) => ((r.cpu ??= {}).shares = v)],
  ['cpu-quota', (r, v) => ((r.cpu ??= {}).quota = v)],
  ['cpu-period', (r, v) => ((r.cpu ??= {}).period = v)],
  ['cpu-rt-period', (r, v) => ((r.cpu ??= {}).realtimePeriod = v)],
  ['cpu-rt-runtime', (r, v) => ((r.cpu ??= {}).realtimeRuntime = v)],
  ['pids-limit', (r, v) => (r.pids = { limit: v })],
  ['blkio-weight', (r, v) => (r.blockIO = { weight: v })],
];

/** Sizes as runc takes them: plain bytes or with k/m/g suffixes. */
function parseSize(name: string, text: string): number {
  const m = /^(-?\d+)([kmgKMG]?)[bB]?$/.exec(text);
  if (!m) throw new BerthError('USAGE', `update: --${name}: invalid value "${text}"`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * mult;
}

export async function run(global: GlobalOptions, argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, {
    string: ['resources', 'cpuset-cpus', 'cpuset-mems', ...numberFlags.map(([n]) => n), 'kernel-memory', 'kernel-memory-tcp', 'l3-cache-schema', 'mem-bw-schema'],
    alias: { r: 'resources' },
  }, 'update');
  if (positionals.length !== 1) throw new BerthError('USAGE', 'update: expected exactly one container id');
  const store = new StateStore(global.root);
  const state = store.load(positionals[0]!);
  if (store.status(state) === 'stopped') throw new BerthError('CONTAINER_STATE', 'cannot update a stopped container');
  let resources: ResourcesSpec = {};
  const file = str(flags.resources);
  if (file) {
    try {
      resources = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8')) as ResourcesSpec;
    } catch (err) {
      throw new BerthError('CONFIG_INVALID', `update: --resources ${file}: ${(err as Error).message}`);
    }
    if (typeof resources !== 'object' || resources === null || Array.isArray(resources)) throw new BerthError('CONFIG_INVALID', 'update: resources must be a JSON object');
  }
  for (const [name, set] of numberFlags) {
    const v = str(flags[name]);
    if (v !== undefined) set(resources, parseSize(name, v));
  }
  if (str(flags['cpuset-cpus'])) (resources.cpu ??= {}).cpus = str(flags['cpuset-cpus']);
  if (str(flags['cpuset-mems'])) (resources.cpu ??= {}).mems = str(flags['cpuset-mems']);
  const hierarchies = listHierarchies();
  const dirs = state.cgroupDirs.flatMap((dir) => {
    const hierarchy = hierarchies.find((h) => dir.startsWith(`${h.mountPoint}/`));
    return hierarchy ? [{ hierarchy, dir }] : [];
  });
  // Device rules are set at create; update changes limits only, as runc does.
  applyResources({ dirs, created: [] }, { ...resources, devices: undefined });
  state.spec.linux = { ...state.spec.linux, resources: { ...state.spec.linux?.resources, ...resources } };
  store.save(state);
  return 0;
}
