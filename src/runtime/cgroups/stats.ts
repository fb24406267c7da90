import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const read = (dir: string | undefined, file: string): string | undefined => {
  if (!dir) return undefined;
  try {
    return readFileSync(join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
};
const num = (v: string | undefined): number => (v === undefined || v === 'max' ? 0 : Number(v));

function keyed(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** The stats runc's `events --stats` reports, read from the v1 hierarchies. */
export function cgroupStats(dirs: string[]): Record<string, unknown> {
  const find = (name: string) => dirs.find((d) => d.split('/').includes(name));
  const cpuacct = find('cpuacct');
  const memory = find('memory');
  const pids = find('pids');
  const cpu = find('cpu');
  const throttling = keyed(read(cpu, 'cpu.stat'));
  return {
    cpu: {
      usage: {
        total: num(read(cpuacct, 'cpuacct.usage')),
        percpu: (read(cpuacct, 'cpuacct.usage_percpu') ?? '').split(/\s+/).filter(Boolean).map(Number),
        kernel: num(read(cpuacct, 'cpuacct.usage_sys')),
        user: num(read(cpuacct, 'cpuacct.usage_user')),
      },
      throttling: { periods: throttling.nr_periods ?? 0, throttledPeriods: throttling.nr_throttled ?? 0, throttledTime: throttling.throttled_time ?? 0 },
    },
    memory: {
      cache: keyed(read(memory, 'memory.stat')).cache ?? 0,
      usage: { limit: num(read(memory, 'memory.limit_in_bytes')), usage: num(read(memory, 'memory.usage_in_bytes')), max: num(read(memory, 'memory.max_usage_in_bytes')), failcnt: num(read(memory, 'memory.failcnt')) },
      swap: { limit: num(read(memory, 'memory.memsw.limit_in_bytes')), usage: num(read(memory, 'memory.memsw.usage_in_bytes')), max: num(read(memory, 'memory.memsw.max_usage_in_bytes')), failcnt: num(read(memory, 'memory.memsw.failcnt')) },
      raw: keyed(read(memory, 'memory.stat')),
    },
    pids: { current: num(read(pids, 'pids.current')), limit: num(read(pids, 'pids.max')) },
  };
}

export function oomKillCount(dirs: string[]): number {
  const memory = dirs.find((d) => d.split('/').includes('memory'));
  return keyed(read(memory, 'memory.oom_control')).oom_kill ?? 0;
}
