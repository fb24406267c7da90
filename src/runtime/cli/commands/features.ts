import { capabilityNumbers } from '../../plan/capabilities.js';
import { namespaceKinds } from '../../plan/namespaces.js';
import type { GlobalOptions } from '../globalOptions.js';

/** What this runtime supports, in the shape of runc's `features` (runtime-spec features.md). */
export async function run(_global: GlobalOptions, _argv: string[]): Promise<number> {
  const features = {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.1.0',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: [
      'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'lazytime', 'loud', 'mand', 'noatime',
      'nodev', 'nodiratime', 'noexec', 'nolazytime', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow',
      'private', 'rbind', 'relatime', 'remount', 'ro', 'rprivate', 'rshared', 'rslave', 'runbindable', 'rw', 'shared',
      'silent', 'slave', 'strictatime', 'suid', 'symfollow', 'sync', 'unbindable',
    ],
    linux: {
      namespaces: Object.keys(namespaceKinds),
      capabilities: Object.keys(capabilityNumbers),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: {
        enabled: true,
        actions: ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP'],
        operators: ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE'],
        archs: ['SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'],
        knownFlags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
        supportedFlags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { 'org.opencontainers.runc.checkpoint.enabled': 'false', 'io.github.berth.runtime': 'berth-runc' },
  };
  process.stdout.write(`${JSON.stringify(features, null, 4)}\n`);
  return 0;
}
