import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import type { Spec } from '../../oci/runtimeSpec.js';
import { checkContainerId } from './containerId.js';
import { isSameLiveProcess } from './processInfo.js';

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** What runc prints for `state` and `list --format json`. */
export interface PublicState {
  ociVersion: string;
  id: string;
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

/** What berth-runc keeps under ROOT/ID/state.json. */
export interface StoredState {
  id: string;
  pid: number;
  /** /proc/PID/stat start time: tells our process from a later one that got the same pid. */
  startTime: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  cgroupDirs: string[];
  /** cgroup directories created for this container, deepest first: what delete removes. */
  createdCgroupDirs: string[];
  freezerDir?: string;
  spec: Spec;
}

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, checkContainerId(id));
  }

  fifoPath(id: string): string {
    return join(this.dir(id), 'exec.fifo');
  }

  /** Claim ID: the directory's creation is the lock that makes two creates of one id fail. */
  claim(id: string): string {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    const dir = this.dir(id);
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new BerthError('ALREADY_EXISTS', `container with id exists: ${id}`);
      throw err;
    }
    return dir;
  }

  save(state: StoredState): void {
    const file = join(this.dir(state.id), 'state.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(state), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  load(id: string): StoredState {
    let text: string;
    try {
      text = readFileSync(join(this.dir(id), 'state.json'), 'utf8');
    } catch {
      throw new BerthError('CONTAINER_NOT_FOUND', `container does not exist: ${id}`);
    }
    return JSON.parse(text) as StoredState;
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(join(this.root, e.name, 'state.json')))
        .map((e) => e.name)
        .sort();
    } catch {
      return [];
    }
  }

  /** The state derived from the live process, never from what was written last. */
  status(state: StoredState): ContainerStatus {
    if (!isSameLiveProcess(state.pid, state.startTime)) return 'stopped';
    if (existsSync(this.fifoPath(state.id))) return 'created';
    if (state.freezerDir) {
      try {
        if (readFileSync(join(state.freezerDir, 'freezer.state'), 'utf8').trim() === 'FROZEN') return 'paused';
      } catch {
        // no freezer: cannot be paused
      }
    }
    return 'running';
  }

  publicState(state: StoredState): PublicState {
    const status = this.status(state);
    const out: PublicState = {
      ociVersion: state.spec.ociVersion,
      id: state.id,
      pid: status === 'stopped' ? 0 : state.pid,
      status,
      bundle: state.bundle,
      rootfs: state.rootfs,
      created: state.created,
      owner: state.owner,
    };
    if (state.spec.annotations) out.annotations = state.spec.annotations;
    return out;
  }
}
