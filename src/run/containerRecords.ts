import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../errors/BerthError.js';
import { storeRoot } from '../store/storeRoot.js';

/** What `berth run` remembers about a container it started (the runtime keeps the live state). */
export interface ContainerRecord {
  id: string;
  name: string;
  image: string;
  command: string[];
  created: string;
  /** The runc-CLI executable, or undefined for the built-in berth-runc. */
  runtime?: string;
  /** Remove the container once it has stopped. */
  autoRemove: boolean;
  stopSignal?: string;
}

/** `berth run` containers live in the data root: containers/ID/{record.json,bundle/}, runtime state in containers/.runtime. */
export class ContainerRecords {
  readonly dir: string;

  constructor(root?: string) {
    this.dir = join(storeRoot(root), 'containers');
  }

  get runtimeRoot(): string {
    return join(this.dir, '.runtime');
  }

  containerDir(id: string): string {
    return join(this.dir, id);
  }

  bundleDir(id: string): string {
    return join(this.dir, id, 'bundle');
  }

  /** What a detached container printed (stdout and stderr, interleaved as written). */
  logFile(id: string): string {
    return join(this.dir, id, 'output.log');
  }

  /** Where the container's exit status is kept once it has exited: by berth-runc's helper, or by berth run. */
  statusFile(id: string): string {
    return join(this.dir, id, 'exit-status');
  }

  exitStatus(id: string): number | undefined {
    try {
      const status = Number.parseInt(readFileSync(this.statusFile(id), 'utf8'), 10);
      return Number.isInteger(status) ? status : undefined;
    } catch {
      return undefined;
    }
  }

  save(record: ContainerRecord): void {
    if (this.all().some((r) => r.name === record.name && r.id !== record.id)) throw new BerthError('ALREADY_EXISTS', `the container name "${record.name}" is already in use`);
    mkdirSync(this.containerDir(record.id), { recursive: true, mode: 0o700 });
    this.update(record);
  }

  /** Rewrite a saved record whose name is unchanged (no scan of every other record for the name). */
  update(record: ContainerRecord): void {
    const file = join(this.containerDir(record.id), 'record.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 2));
    renameSync(`${file}.tmp`, file);
  }

  all(): ContainerRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => !n.startsWith('.'));
    } catch {
      return [];
    }
    return names.flatMap((n) => {
      try {
        return [JSON.parse(readFileSync(join(this.dir, n, 'record.json'), 'utf8')) as ContainerRecord];
      } catch {
        return [];
      }
    });
  }

  /** By exact name, exact id, or a unique id prefix. */
  find(nameOrId: string): ContainerRecord {
    const all = this.all();
    const exact = all.find((r) => r.name === nameOrId || r.id === nameOrId);
    if (exact) return exact;
    const prefixed = all.filter((r) => r.id.startsWith(nameOrId));
    if (prefixed.length === 1) return prefixed[0]!;
    throw new BerthError('CONTAINER_NOT_FOUND', prefixed.length > 1 ? `"${nameOrId}" matches several containers` : `no such container: ${nameOrId}`);
  }

  remove(id: string): void {
    rmSync(this.containerDir(id), { recursive: true, force: true });
  }
}
