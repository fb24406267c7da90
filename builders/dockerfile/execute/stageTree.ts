import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BerthError } from '../../../src/errors/BerthError.js';
import type { KeptPaths } from '../../../src/layer/keptPaths.js';

const run = promisify(execFile);

/**
 * A stage's filesystem as a stack of directories, top first, read as overlay lower layers: the base image unpacked
 * once (shared, never written), then one directory per step that changed files (a RUN's overlay upper, a COPY's
 * staged tree). Nothing is copied between steps; a step only adds a directory on top.
 */
export class StageTree {
  /** `kept`: paths of a root worked in place that are not the stage's files (/proc, mount points, berth's own). */
  constructor(readonly lowers: string[], readonly kept?: KeptPaths) {}

  withTop(dir: string): StageTree {
    return new StageTree([dir, ...this.lowers]);
  }

  /** The merged view, read-only, for lookups (users, symlinks, existing directories) and for copying out of a stage. */
  async withMergedView<T>(scratch: string, use: (root: string) => Promise<T>): Promise<T> {
    if (this.lowers.length === 1) return use(this.lowers[0]!);
    const target = mkdtempSync(join(scratch, '.view-'));
    try {
      await run('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${this.lowers.join(':')}`, target]);
    } catch (err) {
      rmSync(target, { recursive: true, force: true });
      throw new BerthError('RUNTIME_ERROR', `cannot mount the stage's filesystem (overlay, needs root): ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
    }
    try {
      return await use(target);
    } finally {
      await run('umount', [target]).catch(() => run('umount', ['-l', target]));
      rmSync(target, { recursive: true, force: true });
    }
  }
}
