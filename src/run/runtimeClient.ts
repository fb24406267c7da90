import { spawn, spawnSync } from 'node:child_process';
import { BerthError } from '../errors/BerthError.js';
import type { RootfsOverlay } from '../runtime/plan/compilePlan.js';
import type { Spec } from '../oci/runtimeSpec.js';
import { StateStore, type ContainerStatus } from '../runtime/state/stateStore.js';

export type Stdio = (number | 'ignore' | 'inherit' | 'pipe')[];

/**
 * The runtime `berth run` drives: berth-runc in-process (no second Node start-up), or any
 * runc-CLI executable (runc, crun, runsc, kata-runtime) through its command line.
 * Each lifecycle module loads when its operation is first used: `berth ps` needs none of them,
 * `berth run` only run's.
 */
export class RuntimeClient {
  constructor(readonly root: string, readonly executable?: string) {}

  /** `spec`: berth-runc takes it as is; another runtime reads BUNDLE/config.json. */
  async run(id: string, bundle: string, options: { spec?: Spec; detach: boolean; keep: boolean; stdio: Stdio; rootfsOverlay?: RootfsOverlay; consoleSocket?: string; statusFile?: string }): Promise<number> {
    if (!this.executable) {
      const { runContainer } = await import('../runtime/lifecycle/run.js');
      return runContainer({ root: this.root, id, bundle, ...(options.spec ? { spec: options.spec } : {}), detach: options.detach, keep: options.keep, stdio: options.stdio, rootfsOverlay: options.rootfsOverlay, consoleSocket: options.consoleSocket, statusFile: options.statusFile });
    }
    const args = ['--root', this.root, 'run', '--bundle', bundle, ...(options.consoleSocket ? ['--console-socket', options.consoleSocket] : []), ...(options.detach ? ['--detach'] : []), ...(options.keep ? ['--keep'] : []), id];
    const child = spawn(this.executable, args, { stdio: options.stdio });
    return new Promise((resolve, reject) => {
      child.on('error', (err) => reject(new BerthError('RUNTIME_ERROR', `cannot run ${this.executable}: ${err.message}`)));
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 }) as Record<string, number>)[signal]! : 1)));
    });
  }

  status(id: string): ContainerStatus | 'unknown' {
    if (!this.executable) {
      const store = new StateStore(this.root);
      try {
        return store.status(store.load(id));
      } catch {
        return 'unknown';
      }
    }
    const r = spawnSync(this.executable, ['--root', this.root, 'state', id], { encoding: 'utf8' });
    if (r.status !== 0) return 'unknown';
    try {
      return (JSON.parse(r.stdout) as { status: ContainerStatus }).status;
    } catch {
      return 'unknown';
    }
  }

  /** `all`: every process of the container, not only its init (runc kill --all). */
  async kill(id: string, signal: string, all = false): Promise<void> {
    if (!this.executable) return (await import('../runtime/lifecycle/kill.js')).killContainer(this.root, id, signal, all);
    this.cli(['kill', ...(all ? ['--all'] : []), id, signal]);
  }

  async delete(id: string, force: boolean): Promise<void> {
    if (!this.executable) return (await import('../runtime/lifecycle/delete.js')).deleteContainer(this.root, id, force);
    this.cli(['delete', ...(force ? ['--force'] : []), id]);
  }

  private cli(args: string[]): void {
    const r = spawnSync(this.executable!, ['--root', this.root, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new BerthError('RUNTIME_ERROR', `${this.executable} ${args[0]}: ${(r.stderr || String(r.error ?? '')).trim().split('\n')[0]}`);
  }
}
