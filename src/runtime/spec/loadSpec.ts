import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import type { Spec } from '../../oci/runtimeSpec.js';

/** Read BUNDLE/config.json and check every field berth-runc acts on; config.json is untrusted input. */
export function loadSpec(bundle: string): Spec {
  const file = join(bundle, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BerthError('NOT_FOUND', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BerthError('CONFIG_INVALID', `${file}: not valid JSON (${(err as Error).message})`);
  }
  return validateSpec(raw);
}

function fail(where: string, what: string): never {
  throw new BerthError('CONFIG_INVALID', `config.json: ${where} ${what}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(v: unknown, where: string, optional = false): void {
  if (v === undefined && optional) return;
  if (typeof v !== 'string') fail(where, 'must be a string');
}

function int(v: unknown, where: string, optional = false, min = -(2 ** 53), max = 2 ** 53): void {
  if (v === undefined && optional) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(where, `must be an integer in [${min}, ${max}]`);
}

function strArray(v: unknown, where: string, optional = false): void {
  if (v === undefined && optional) return;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(where, 'must be an array of strings');
  if ((v as string[]).some((x) => x.includes('\0'))) fail(where, 'must not contain NUL bytes');
}

function absPath(v: unknown, where: string): void {
  str(v, where);
  if (!(v as string).startsWith('/')) fail(where, `must be an absolute path, got "${String(v)}"`);
  if ((v as string).includes('\0')) fail(where, 'must not contain NUL bytes');
}

const UINT32 = 2 ** 32 - 1;

export function validateSpec(raw: unknown): Spec {
  if (!isObject(raw)) fail('top level', 'must be an object');
  str(raw.ociVersion, 'ociVersion');
  if (!/^1\.\d+\.\d+/.test(raw.ociVersion as string)) fail('ociVersion', `"${String(raw.ociVersion)}" is not a supported 1.x version`);
  if (!isObject(raw.root)) fail('root', 'is required');
  str(raw.root.path, 'root.path');
  if (raw.root.readonly !== undefined && typeof raw.root.readonly !== 'boolean') fail('root.readonly', 'must be a boolean');
  str(raw.hostname, 'hostname', true);
  str(raw.domainname, 'domainname', true);
  if (raw.process !== undefined) validateProcess(raw.process, 'process');
  if (raw.mounts !== undefined) {
    if (!Array.isArray(raw.mounts)) fail('mounts', 'must be an array');
    raw.mounts.forEach((m, i) => {
      if (!isObject(m)) fail(`mounts[${i}]`, 'must be an object');
      absPath(m.destination, `mounts[${i}].destination`);
      str(m.source, `mounts[${i}].source`, true);
      str(m.type, `mounts[${i}].type`, true);
      strArray(m.options, `mounts[${i}].options`, true);
    });
  }
  if (raw.hooks !== undefined) {
    if (!isObject(raw.hooks)) fail('hooks', 'must be an object');
    for (const [phase, list] of Object.entries(raw.hooks)) {
      if (!Array.isArray(list)) fail(`hooks.${phase}`, 'must be an array');
      list.forEach((h, i) => {
        if (!isObject(h)) fail(`hooks.${phase}[${i}]`, 'must be an object');
        absPath(h.path, `hooks.${phase}[${i}].path`);
        strArray(h.args, `hooks.${phase}[${i}].args`, true);
        strArray(h.env, `hooks.${phase}[${i}].env`, true);
        int(h.timeout, `hooks.${phase}[${i}].timeout`, true, 1);
      });
    }
  }
  if (raw.annotations !== undefined && (!isObject(raw.annotations) || Object.values(raw.annotations).some((v) => typeof v !== 'string')))
    fail('annotations', 'must be an object of strings');
  if (raw.linux !== undefined) validateLinux(raw.linux);
  return raw as unknown as Spec;
}

export function validateProcess(p: unknown, where: string): void {
  if (!isObject(p)) fail(where, 'must be an object');
  strArray(p.args, `${where}.args`);
  if ((p.args as string[]).length === 0) fail(`${where}.args`, 'must not be empty');
  strArray(p.env, `${where}.env`, true);
  absPath(p.cwd, `${where}.cwd`);
  if (!isObject(p.user)) fail(`${where}.user`, 'is required');
  int(p.user.uid, `${where}.user.uid`, false, 0, UINT32);
  int(p.user.gid, `${where}.user.gid`, false, 0, UINT32);
  int(p.user.umask, `${where}.user.umask`, true, 0, 0o777);
  if (p.user.additionalGids !== undefined) {
    if (!Array.isArray(p.user.additionalGids)) fail(`${where}.user.additionalGids`, 'must be an array');
    p.user.additionalGids.forEach((g, i) => int(g, `${where}.user.additionalGids[${i}]`, false, 0, UINT32));
  }
  if (p.terminal !== undefined && typeof p.terminal !== 'boolean') fail(`${where}.terminal`, 'must be a boolean');
  if (p.noNewPrivileges !== undefined && typeof p.noNewPrivileges !== 'boolean') fail(`${where}.noNewPrivileges`, 'must be a boolean');
  int(p.oomScoreAdj, `${where}.oomScoreAdj`, true, -1000, 1000);
  if (p.capabilities !== undefined) {
    if (!isObject(p.capabilities)) fail(`${where}.capabilities`, 'must be an object');
    for (const [set, list] of Object.entries(p.capabilities)) strArray(list, `${where}.capabilities.${set}`);
  }
  if (p.rlimits !== undefined) {
    if (!Array.isArray(p.rlimits)) fail(`${where}.rlimits`, 'must be an array');
    p.rlimits.forEach((r, i) => {
      if (!isObject(r)) fail(`${where}.rlimits[${i}]`, 'must be an object');
      str(r.type, `${where}.rlimits[${i}].type`);
      int(r.hard, `${where}.rlimits[${i}].hard`, false, 0, 2 ** 64);
      int(r.soft, `${where}.rlimits[${i}].soft`, false, 0, 2 ** 64);
      if ((r.soft as number) > (r.hard as number)) fail(`${where}.rlimits[${i}]`, 'soft limit exceeds hard limit');
    });
  }
}

function validateLinux(l: unknown): void {
  if (!isObject(l)) fail('linux', 'must be an object');
  if (l.namespaces !== undefined) {
    if (!Array.isArray(l.namespaces)) fail('linux.namespaces', 'must be an array');
    const seen = new Set<string>();
    l.namespaces.forEach((n, i) => {
      if (!isObject(n)) fail(`linux.namespaces[${i}]`, 'must be an object');
      str(n.type, `linux.namespaces[${i}].type`);
      if (seen.has(n.type as string)) fail(`linux.namespaces`, `lists "${String(n.type)}" twice`);
      seen.add(n.type as string);
      if (n.path !== undefined) absPath(n.path, `linux.namespaces[${i}].path`);
    });
  }
  for (const key of ['uidMappings', 'gidMappings'] as const) {
    const list = l[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) fail(`linux.${key}`, 'must be an array');
    list.forEach((m, i) => {
      if (!isObject(m)) fail(`linux.${key}[${i}]`, 'must be an object');
      int(m.containerID, `linux.${key}[${i}].containerID`, false, 0, UINT32);
      int(m.hostID, `linux.${key}[${i}].hostID`, false, 0, UINT32);
      int(m.size, `linux.${key}[${i}].size`, false, 1, UINT32);
    });
  }
  if (l.devices !== undefined) {
    if (!Array.isArray(l.devices)) fail('linux.devices', 'must be an array');
    l.devices.forEach((d, i) => {
      if (!isObject(d)) fail(`linux.devices[${i}]`, 'must be an object');
      absPath(d.path, `linux.devices[${i}].path`);
      if (!['c', 'u', 'b', 'p'].includes(d.type as string)) fail(`linux.devices[${i}].type`, 'must be one of c, u, b, p');
      if (d.type !== 'p') {
        int(d.major, `linux.devices[${i}].major`);
        int(d.minor, `linux.devices[${i}].minor`);
      }
      int(d.fileMode, `linux.devices[${i}].fileMode`, true, 0, 0o7777);
      int(d.uid, `linux.devices[${i}].uid`, true, 0, UINT32);
      int(d.gid, `linux.devices[${i}].gid`, true, 0, UINT32);
    });
  }
  str(l.cgroupsPath, 'linux.cgroupsPath', true);
  str(l.rootfsPropagation, 'linux.rootfsPropagation', true);
  if (l.rootfsPropagation !== undefined && !['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable'].includes(l.rootfsPropagation as string))
    fail('linux.rootfsPropagation', `"${String(l.rootfsPropagation)}" is not a propagation mode`);
  strArray(l.maskedPaths, 'linux.maskedPaths', true);
  strArray(l.readonlyPaths, 'linux.readonlyPaths', true);
  if (l.sysctl !== undefined && (!isObject(l.sysctl) || Object.values(l.sysctl).some((v) => typeof v !== 'string')))
    fail('linux.sysctl', 'must be an object of strings');
  if (l.sysctl !== undefined)
    for (const key of Object.keys(l.sysctl as object)) if (!/^[a-zA-Z0-9_.\-/]+$/.test(key) || key.includes('..')) fail('linux.sysctl', `key "${key}" is not a sysctl name`);
  if (l.seccomp !== undefined) {
    const s = l.seccomp;
    if (!isObject(s)) fail('linux.seccomp', 'must be an object');
    str(s.defaultAction, 'linux.seccomp.defaultAction');
    strArray(s.architectures, 'linux.seccomp.architectures', true);
    strArray(s.flags, 'linux.seccomp.flags', true);
    int(s.defaultErrnoRet, 'linux.seccomp.defaultErrnoRet', true, 0, 4095);
    if (s.syscalls !== undefined) {
      if (!Array.isArray(s.syscalls)) fail('linux.seccomp.syscalls', 'must be an array');
      s.syscalls.forEach((r, i) => {
        if (!isObject(r)) fail(`linux.seccomp.syscalls[${i}]`, 'must be an object');
        strArray(r.names, `linux.seccomp.syscalls[${i}].names`);
        str(r.action, `linux.seccomp.syscalls[${i}].action`);
        int(r.errnoRet, `linux.seccomp.syscalls[${i}].errnoRet`, true, 0, 4095);
        if (r.args !== undefined) {
          if (!Array.isArray(r.args)) fail(`linux.seccomp.syscalls[${i}].args`, 'must be an array');
          r.args.forEach((a, j) => {
            if (!isObject(a)) fail(`linux.seccomp.syscalls[${i}].args[${j}]`, 'must be an object');
            int(a.index, `linux.seccomp.syscalls[${i}].args[${j}].index`, false, 0, 5);
            int(a.value, `linux.seccomp.syscalls[${i}].args[${j}].value`, false, 0, 2 ** 64);
            int(a.valueTwo, `linux.seccomp.syscalls[${i}].args[${j}].valueTwo`, true, 0, 2 ** 64);
            str(a.op, `linux.seccomp.syscalls[${i}].args[${j}].op`);
          });
        }
      });
    }
  }
  if (l.resources !== undefined && !isObject(l.resources)) fail('linux.resources', 'must be an object');
}
