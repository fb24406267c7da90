import { copyFileSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { defaultRuntimeSpec } from '../../src/bundle/runtimeSpec.js';
import { berthBin, berthRuncBin } from './peers.js';
import { run, type RunResult } from './runCli.js';

/** Docker's default capability set, which a Kubernetes pod gets unless it asks otherwise: no SYS_ADMIN, no NET_ADMIN. */
export const POD_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** berth's package root as the tests run it (dist/ and node_modules beside package.json). */
const packageRoot = resolve(dirname(berthBin), '..', '..');

export interface Pod {
  /** Run `berth ARGS` in a fresh pod-like container; `binds` are host directories mounted at container paths. */
  berth(args: string[], options?: { binds?: Record<string, string>; env?: Record<string, string> }): Promise<RunResult>;
}

/**
 * A pod-like container run by berth-runc (or runc): its own root filesystem holding berth (the package, bind-mounted
 * read-only at /berth/app) and a private copy of node at /berth/bin/node, the host network, pid/ipc/uts/mount
 * namespaces, Docker's default capabilities and no_new_privileges, as Kubernetes runs a pod by default. Each call
 * gets a new root: a build in place replaces it.
 */
export function podContainer(dir: string, runtime = berthRuncBin): Pod {
  let count = 0;
  return {
    async berth(args, options = {}) {
      const bundle = join(dir, `pod-${count++}`);
      const rootfs = join(bundle, 'rootfs');
      // node and the loader and libraries it needs at start; a build in place deletes all but node itself.
      for (const file of [process.execPath, ...sharedLibraries(process.execPath)]) {
        const target = join(rootfs, file === process.execPath ? '/berth/bin/node' : file);
        mkdirSync(dirname(target), { recursive: true });
        copyFileSync(realpathSync(file), target);
      }
      for (const d of ['berth/app', 'tmp', 'root', 'etc']) mkdirSync(join(rootfs, d), { recursive: true, mode: d === 'tmp' ? 0o1777 : 0o755 });
      const spec = defaultRuntimeSpec();
      spec.root = { path: 'rootfs', readonly: false };
      spec.hostname = 'pod';
      spec.process = {
        ...spec.process,
        args: ['/berth/bin/node', '/berth/app/dist/bin/berth.js', ...args],
        env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'BERTH_ROOT=/berth-data', ...Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`)],
        cwd: '/',
        capabilities: { bounding: POD_CAPABILITIES, effective: POD_CAPABILITIES, permitted: POD_CAPABILITIES, ambient: [] },
        noNewPrivileges: true,
      };
      spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
      spec.mounts = spec.mounts.map((m) => (m.destination === '/sys' ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] } : m));
      spec.mounts.push({ destination: '/berth/app', type: 'bind', source: packageRoot, options: ['rbind', 'ro'] });
      for (const [target, source] of Object.entries(options.binds ?? {})) {
        mkdirSync(join(rootfs, target), { recursive: true });
        spec.mounts.push({ destination: target, type: 'bind', source, options: ['rbind', 'rw'] });
      }
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
      const id = `pod-${process.pid}-${count}`;
      const runtimeArgs = ['--root', join(dir, 'runtime-state'), 'run', '--bundle', bundle, id];
      return runtime.endsWith('.js') ? run(process.execPath, [runtime, ...runtimeArgs], { timeoutMs: 300_000 }) : run(runtime, runtimeArgs, { timeoutMs: 300_000 });
    },
  };
}

function sharedLibraries(binary: string): string[] {
  const out: string[] = [];
  for (const line of execFileSync('ldd', [binary], { encoding: 'utf8' }).split('\n')) {
    const path = /(\/\S+) \(0x/.exec(line)?.[1];
    if (path) out.push(path);
  }
  return out;
}
