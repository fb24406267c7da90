import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/**
 * Find a peer executable on PATH. When it is missing the test is skipped with
 * the reason, except under BERTH_REQUIRE_PEERS=1 (CI), where a missing peer fails.
 */
export function peer(t: TestContext, name: string): string | undefined {
  const found = which(name);
  if (found) return found;
  if (process.env.BERTH_REQUIRE_PEERS === '1') throw new Error(`peer "${name}" is required (BERTH_REQUIRE_PEERS=1) but is not installed`);
  t.skip(`peer "${name}" is not installed`);
  return undefined;
}

export function which(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** A fresh temp dir removed when the test ends. */
export function tempDir(t: TestContext, prefix = 'berth-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Path of the built berth CLI (tests run from dist/test/...). */
export const berthBin = new URL('../../bin/berth.js', import.meta.url).pathname;
export const berthRuncBin = new URL('../../bin/berth-runc.cjs', import.meta.url).pathname;
