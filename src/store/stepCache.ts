import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { storedLayer, type NewLayer } from '../layer/newLayer.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import type { HistoryEntry } from '../oci/config.js';

/** One built step: its layer and the tree it left, which later steps stack as an overlay layer. */
export interface CachedStep {
  /** Absent for a step made in place (kaniko mode), which changed its root and left no tree. */
  tree?: string;
  layer: NewLayer;
}

interface StepRecord {
  descriptor: Descriptor;
  diffId: Digest;
  /** The entry holds the step's tree (false: its layer alone). */
  tree?: boolean;
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

  /**
   * The step stored under `key`; with `needTree`, only an entry that holds its tree (a build stacking overlays); with
   * `maxAgeMs`, only one made since (--cache-ttl).
   */
  async get(key: string, history?: HistoryEntry, options: { needTree?: boolean; maxAgeMs?: number } = {}): Promise<CachedStep | null> {
    const dir = join(this.stepsDir, key);
    let record: StepRecord;
    let tree = false;
    try {
      if (options.maxAgeMs !== undefined && Date.now() - statSync(join(dir, 'step.json')).mtimeMs > options.maxAgeMs) return null;
      record = JSON.parse(readFileSync(join(dir, 'step.json'), 'utf8')) as StepRecord;
      tree = record.tree !== false && statSync(join(dir, 'tree')).isDirectory();
    } catch {
      return null;
    }
    if ((options.needTree ?? true) && !tree) return null;
    const layer = await storedLayer(this.blobDir, record.descriptor, record.diffId, history);
    return layer ? { ...(tree ? { tree: join(dir, 'tree') } : {}), layer } : null;
  }

  /**
   * Keep a step made in `scratch` (its tree at `scratch`/tree, when it has one); returns where the tree lives now.
   * An entry without a tree never replaces one with it.
   */
  put(key: string, scratch: string, layer: NewLayer): string | undefined {
    const hasTree = existsSync(join(scratch, 'tree'));
    const record: StepRecord = { descriptor: layer.descriptor, diffId: layer.diffId, tree: hasTree };
    writeFileSync(join(scratch, 'step.json'), JSON.stringify(record));
    const dir = join(this.stepsDir, key);
    try {
      renameSync(scratch, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      if (hasTree && !existsSync(join(dir, 'tree'))) {
        // The entry made in place holds the layer alone; one with the tree serves both kinds of build.
        const old = `${dir}.old-${process.pid}`;
        renameSync(dir, old);
        try {
          renameSync(scratch, dir);
        } catch {
          rmSync(scratch, { recursive: true, force: true });
        }
        rmSync(old, { recursive: true, force: true });
      } else {
        rmSync(scratch, { recursive: true, force: true });
      }
    }
    return hasTree ? join(dir, 'tree') : undefined;
  }
}
