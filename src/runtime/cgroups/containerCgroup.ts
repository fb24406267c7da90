import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import type { ResourcesSpec } from '../../oci/runtimeSpec.js';
import { listHierarchies, type Hierarchy } from './hierarchies.js';

export interface ContainerCgroup {
  /** Every directory this container joins, one per hierarchy. */
  dirs: { hierarchy: Hierarchy; dir: string }[];
  /** Directories created for it, deepest first: what delete removes. */
  created: string[];
  freezerDir?: string;
}

/** Where CGROUPS_PATH lands in one hierarchy: absolute from its root, relative from our own cgroup. */
function dirIn(h: Hierarchy, cgroupsPath: string): string {
  const rel = cgroupsPath.startsWith('/') ? cgroupsPath : posix.join(h.ownPath, cgroupsPath);
  const clean = posix.normalize(rel);
  if (clean.split('/').includes('..')) throw new BerthError('CONFIG_INVALID', `config.json: linux.cgroupsPath "${cgroupsPath}" leaves the cgroup root`);
  return join(h.mountPoint, clean);
}

function write(dir: string, file: string, value: string | number): void {
  try {
    writeFileSync(join(dir, file), String(value));
  } catch (err) {
    throw new BerthError('RUNTIME_ERROR', `cgroup: write ${join(dir, file)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function mkdirs(h: Hierarchy, dir: string, created: string[]): void {
  const parts = posix.relative(h.mountPoint, dir).split('/').filter(Boolean);
  let cur = h.mountPoint;
  for (const part of parts) {
    const parent = cur;
    cur = join(cur, part);
    if (existsSync(cur)) continue;
    mkdirSync(cur);
    created.unshift(cur);
    // A fresh cpuset is empty and refuses tasks until it is given its parent's cpus and mems.
    if (h.controllers.includes('cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        if (readFileSync(join(cur, f), 'utf8').trim() === '') write(cur, f, readFileSync(join(parent, f), 'utf8').trim());
      }
    }
  }
}

/** Create (or reuse) the container's cgroup in every mounted hierarchy and apply the resource limits. */
export function setUpCgroup(cgroupsPath: string, resources: ResourcesSpec | undefined): ContainerCgroup {
  const result: ContainerCgroup = { dirs: [], created: [] };
  try {
    for (const h of listHierarchies()) {
      if (h.controllers.some((c) => c.startsWith('name='))) continue;
      const dir = dirIn(h, cgroupsPath);
      mkdirs(h, dir, result.created);
      result.dirs.push({ hierarchy: h, dir });
      if (h.controllers.includes('freezer')) result.freezerDir = dir;
    }
    applyResources(result, resources ?? {});
  } catch (err) {
    removeCgroup(result);
    throw err;
  }
  return result;
}

function dirFor(cg: ContainerCgroup, controller: string): string | undefined {
  return cg.dirs.find((d) => d.hierarchy.version === 1 && d.hierarchy.controllers.includes(controller))?.dir;
}

const defaultAllowedDevices = ['c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 5:0 rwm', 'c 5:1 rwm', 'c 5:2 rwm', 'c 136:* rwm', 'c *:* m', 'b *:* m'];

export function applyResources(cg: ContainerCgroup, r: ResourcesSpec): void {
  const memory = dirFor(cg, 'memory');
  if (r.memory && memory) {
    const m = r.memory;
    const hasSwap = existsSync(join(memory, 'memory.memsw.limit_in_bytes'));
    if (m.limit !== undefined) {
      // memsw must stay >= limit at every step, so the order depends on the direction.
      if (m.swap !== undefined && hasSwap) {
        try {
          write(memory, 'memory.memsw.limit_in_bytes', m.swap);
          write(memory, 'memory.limit_in_bytes', m.limit);
        } catch {
          write(memory, 'memory.limit_in_bytes', m.limit);
          write(memory, 'memory.memsw.limit_in_bytes', m.swap);
        }
      } else {
        write(memory, 'memory.limit_in_bytes', m.limit);
        if (hasSwap && m.limit > 0) write(memory, 'memory.memsw.limit_in_bytes', m.limit);
      }
    } else if (m.swap !== undefined && hasSwap) write(memory, 'memory.memsw.limit_in_bytes', m.swap);
    if (m.reservation !== undefined) write(memory, 'memory.soft_limit_in_bytes', m.reservation);
    if (m.swappiness !== undefined && m.swappiness >= 0 && m.swappiness <= 100) write(memory, 'memory.swappiness', m.swappiness);
    if (m.disableOOMKiller) write(memory, 'memory.oom_control', 1);
  } else if (r.memory?.limit !== undefined) {
    throw new BerthError('UNSUPPORTED', 'memory limit requested but the memory cgroup controller is not mounted');
  }
  const cpu = dirFor(cg, 'cpu');
  if (r.cpu && cpu) {
    if (r.cpu.shares !== undefined) write(cpu, 'cpu.shares', r.cpu.shares);
    if (r.cpu.period !== undefined) write(cpu, 'cpu.cfs_period_us', r.cpu.period);
    if (r.cpu.quota !== undefined) write(cpu, 'cpu.cfs_quota_us', r.cpu.quota);
    if (r.cpu.realtimePeriod !== undefined) write(cpu, 'cpu.rt_period_us', r.cpu.realtimePeriod);
    if (r.cpu.realtimeRuntime !== undefined) write(cpu, 'cpu.rt_runtime_us', r.cpu.realtimeRuntime);
  }
  const cpuset = dirFor(cg, 'cpuset');
  if (r.cpu && cpuset) {
    if (r.cpu.cpus) write(cpuset, 'cpuset.cpus', r.cpu.cpus);
    if (r.cpu.mems) write(cpuset, 'cpuset.mems', r.cpu.mems);
  }
  const pids = dirFor(cg, 'pids');
  if (r.pids && pids) write(pids, 'pids.max', r.pids.limit > 0 ? r.pids.limit : 'max');
  else if (r.pids) throw new BerthError('UNSUPPORTED', 'pids limit requested but the pids cgroup controller is not mounted');
  const blkio = dirFor(cg, 'blkio');
  if (r.blockIO?.weight !== undefined && blkio) {
    const file = existsSync(join(blkio, 'blkio.weight')) ? 'blkio.weight' : 'blkio.bfq.weight';
    write(blkio, file, r.blockIO.weight);
  }
  const hugetlb = dirFor(cg, 'hugetlb');
  for (const h of r.hugepageLimits ?? []) {
    if (!hugetlb) throw new BerthError('UNSUPPORTED', 'hugepage limits requested but the hugetlb controller is not mounted');
    write(hugetlb, `hugetlb.${h.pageSize}.limit_in_bytes`, h.limit);
  }
  const devices = dirFor(cg, 'devices');
  if (r.devices && devices) {
    for (const rule of r.devices) {
      const type = rule.type ?? 'a';
      const major = rule.major === undefined || rule.major < 0 ? '*' : String(rule.major);
      const minor = rule.minor === undefined || rule.minor < 0 ? '*' : String(rule.minor);
      const line = type === 'a' ? 'a' : `${type} ${major}:${minor} ${rule.access ?? 'rwm'}`;
      write(devices, rule.allow ? 'devices.allow' : 'devices.deny', line);
    }
    for (const line of defaultAllowedDevices) write(devices, 'devices.allow', line);
  }
}

/** Every pid in the container's cgroup (for kill --all, ps, delete --force). */
export function cgroupPids(dirs: string[]): number[] {
  for (const dir of dirs) {
    try {
      return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      // try the next hierarchy
    }
  }
  return [];
}

/** Remove what setUpCgroup created; parents shared with others stay when busy. */
export function removeCgroup(cg: Pick<ContainerCgroup, 'created'>): void {
  for (const dir of cg.created) {
    try {
      rmdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EBUSY' && code !== 'ENOTEMPTY') throw err;
    }
  }
}
