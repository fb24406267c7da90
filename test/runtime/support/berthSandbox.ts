import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { makeBaseImage } from '../../../fixtures/base-image/makeBaseImage.js';
import { berthBin, tempDir } from '../../support/peers.js';

export interface BerthSandbox {
  dir: string;
  /** An OCI layout holding the offline busybox image as tag `bb`. */
  layout: string;
  /** The environment berth runs with: a private data root (store + containers). */
  env: NodeJS.ProcessEnv;
  berth(args: string[], options?: SpawnSyncOptions): { status: number | null; stdout: string; stderr: string };
}

/** An offline busybox image and a private berth data root; containers and berth's cgroup parent go with the test. */
export async function berthSandbox(t: TestContext, prefix: string): Promise<BerthSandbox> {
  const dir = tempDir(t, prefix);
  const layout = join(dir, 'layout');
  await makeBaseImage(layout, { tag: 'bb' });
  const env = { ...process.env, BERTH_ROOT: join(dir, 'root') };
  const berth = (args: string[], options: SpawnSyncOptions = {}) => {
    const r = spawnSync(process.execPath, [berthBin, ...args], { encoding: 'utf8', env, timeout: 60_000, ...options });
    return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  t.after(() => {
    for (const id of berth(['ps', '-a', '-q']).stdout.split('\n').filter(Boolean)) berth(['rm', '-f', id]);
    // runc (--runtime) leaves the parent of its cgroups; ours are named /berth/ID.
    for (const h of readdirSync('/sys/fs/cgroup')) {
      try {
        rmdirSync(join('/sys/fs/cgroup', h, 'berth'));
      } catch {
        // busy (another berth run going) or absent
      }
    }
  });
  return { dir, layout, env, berth };
}
