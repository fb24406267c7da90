import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { storedLayer, type NewLayer } from '../layer/newLayer.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import type { HistoryEntry } from '../oci/config.js';

/**
 * The Node builder's dependency layers, by a key of everything that can change them (lockfile bytes, base, platform,
 * options): a hit needs neither the registry nor arborist. The layer blob lives beside the step cache's; the entry is
 * written to a temp name and renamed.
 */
export class DependencyLayerCache {
  private readonly dir: string;

  constructor(readonly root: string, readonly blobDir: string) {
    this.dir = join(root, 'node-deps');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  async get(key: string, history?: HistoryEntry): Promise<NewLayer | null> {
    try {
      const { descriptor, diffId } = JSON.parse(readFileSync(join(this.dir, `${key}.json`), 'utf8')) as { descriptor: Descriptor; diffId: Digest };
      return await storedLayer(this.blobDir, descriptor, diffId, history);
    } catch {
      return null;
    }
  }

  put(key: string, layer: NewLayer): void {
    const file = join(this.dir, `${key}.json`);
    writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify({ descriptor: layer.descriptor, diffId: layer.diffId }));
    renameSync(`${file}.${process.pid}.tmp`, file);
  }
}
