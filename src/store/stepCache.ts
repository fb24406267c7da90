import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { storedLayer, type NewLayer } from '../layer/newLayer.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import type { HistoryEntry } from '../oci/config.js';

/** One built step: its layer and the tree it left, which later steps stack as an overlay layer. */
export interface CachedStep {
  tree: string;
  layer: NewLayer;
}

interface StepRecord {
  descriptor: Descriptor;
  diffId: Digest;
}

/**
 * The Dockerfile builder's step cache (buildah --layers): an entry per cache key, holding the step's layer blob and
 * its tree, which later builds stack as an overlay layer without unpacking anything. An entry is made in a temp
 * directory and renamed into place whole, so a reader sees a complete entry or none, and two builds that make the
 * same step at once both succeed (the second rename loses and its copy is dropped).
 */
export class StepCache {
  readonly blobDir: string;
  private readonly stepsDir: string;

  constructor(readonly root: string) {
    this.blobDir = join(root, 'blobs');
    this.stepsDir = join(root, 'steps');
    mkdirSync(this.stepsDir, { recursive: true, mode: 0o700 });
  }

  /** A directory on the cache's filesystem for a step's work, renamed into the cache by `put`. */
  scratch(): string {
    return mkdtempSync(join(this.root, '.tmp-'));
  }

  async get(key: string, history?: HistoryEntry): Promise<CachedStep | null> {
    const dir = join(this.stepsDir, key);
    let record: StepRecord;
    try {
      record = JSON.parse(readFileSync(join(dir, 'step.json'), 'utf8')) as StepRecord;
      if (!statSync(join(dir, 'tree')).isDirectory()) return null;
    } catch {
      return null;
    }
    const layer = await storedLayer(this.blobDir, record.descriptor, record.diffId, history);
    return layer ? { tree: join(dir, 'tree'), layer } : null;
  }

  /** Keep a step whose tree was made at `scratch`/tree; returns where the tree lives now. */
  put(key: string, scratch: string, layer: NewLayer): string {
    const record: StepRecord = { descriptor: layer.descriptor, diffId: layer.diffId };
    writeFileSync(join(scratch, 'step.json'), JSON.stringify(record));
    const dir = join(this.stepsDir, key);
    try {
      renameSync(scratch, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      rmSync(scratch, { recursive: true, force: true });
    }
    return join(dir, 'tree');
  }
}
