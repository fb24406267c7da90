import { readFileSync } from 'node:fs';

/** A mounted cgroup hierarchy: v1 (with its controllers) or the v2 unified one. */
export interface Hierarchy {
  mountPoint: string;
  version: 1 | 2;
  controllers: string[];
  /** The cgroup of this process in the hierarchy (from /proc/self/cgroup), for relative paths. */
  ownPath: string;
}

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function listHierarchies(): Hierarchy[] {
  const own = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) own.set(m[1]!, m[2]!);
  }
  const out: Hierarchy[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const [fstype, , superOptions] = right.split(' ');
    const mountPoint = unescape(left.split(' ')[4] ?? '');
    if (fstype === 'cgroup2') {
      out.push({ mountPoint, version: 2, controllers: [], ownPath: own.get('') ?? '/' });
    } else if (fstype === 'cgroup') {
      const opts = (superOptions ?? '').split(',');
      const known = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'devices', 'freezer', 'blkio', 'hugetlb', 'net_cls', 'net_prio', 'perf_event', 'rdma', 'misc'];
      const controllers = opts.filter((o) => known.includes(o));
      const named = opts.find((o) => o.startsWith('name='));
      if (controllers.length === 0 && !named) continue;
      const key = controllers.length ? [...own.keys()].find((k) => k.split(',').sort().join(',') === [...controllers].sort().join(',')) : named;
      out.push({ mountPoint, version: 1, controllers: controllers.length ? controllers : [named!], ownPath: own.get(key ?? '') ?? '/' });
    }
  }
  return out;
}
