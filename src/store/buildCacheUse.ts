import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A build running against the build cache says so with a file named by its pid (builds/PID), removed when it ends;
 * prune leaves the cache alone while any of those processes lives, so it never pulls a step's tree from under a
 * build that stacks it.
 */
export function enterBuild(cacheRoot: string): () => void {
  const dir = join(cacheRoot, 'builds');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, String(process.pid));
  writeFileSync(file, '');
  return () => rmSync(file, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface BuildCachePruneReport {
  /** Cached steps of the Dockerfile builder removed. */
  steps: number;
  /** Cached dependency layers of the Node builder removed. */
  dependencyLayers: number;
  /** Layer blobs no remaining entry uses, removed, and their bytes. */
  blobs: number;
  bytes: number;
  /** Why nothing was removed (a build is running). */
  skipped?: string;
}

/**
 * Remove the builders' cached steps and dependency layers made more than `olderThanMs` ago (all of them without it),
 * what a build that died left half-made, and every layer blob no remaining entry uses. RUN cache mounts
 * (`--mount=type=cache`) are kept: they are a build's own caches, not results. An entry goes whole (renamed away,
 * then removed), so a later build never finds half of one.
 */
export function pruneBuildCache(cacheRoot: string, options: { olderThanMs?: number } = {}): BuildCachePruneReport {
  const report: BuildCachePruneReport = { steps: 0, dependencyLayers: 0, blobs: 0, bytes: 0 };
  if (!existsSync(cacheRoot)) return report;
  const buildsDir = join(cacheRoot, 'builds');
  const running = (existsSync(buildsDir) ? readdirSync(buildsDir) : []).filter((name) => /^\d+$/.test(name) && alive(Number(name)));
  if (running.length > 0) return { ...report, skipped: `a build is running (pid ${running.join(', ')}); the build cache was kept` };
  const old = (file: string) => options.olderThanMs === undefined || Date.now() - statSync(file).mtimeMs > options.olderThanMs;
  const referenced = new Set<string>();
  const stepsDir = join(cacheRoot, 'steps');
  for (const key of existsSync(stepsDir) ? readdirSync(stepsDir) : []) {
    const record = join(stepsDir, key, 'step.json');
    if (existsSync(record) && !old(record)) {
      referenced.add((JSON.parse(readFileSync(record, 'utf8')) as { descriptor: { digest: string } }).descriptor.digest);
      continue;
    }
    removeWhole(cacheRoot, join(stepsDir, key));
    report.steps++;
  }
  const depsDir = join(cacheRoot, 'node-deps');
  for (const name of existsSync(depsDir) ? readdirSync(depsDir) : []) {
    const record = join(depsDir, name);
    if (name.endsWith('.json') && !old(record)) {
      referenced.add((JSON.parse(readFileSync(record, 'utf8')) as { descriptor: { digest: string } }).descriptor.digest);
      continue;
    }
    unlinkSync(record);
    if (name.endsWith('.json')) report.dependencyLayers++;
  }
  // Scratch of builds that died: no build runs now, so every one is an orphan.
  for (const name of readdirSync(cacheRoot)) {
    if (/^(\.tmp-|chroot-|\.executor-|\.prune-)/.test(name)) rmSync(join(cacheRoot, name), { recursive: true, force: true });
  }
  const blobsDir = join(cacheRoot, 'blobs');
  for (const name of existsSync(blobsDir) ? readdirSync(blobsDir) : []) {
    if (referenced.has(name.replace('-', ':'))) continue;
    const file = join(blobsDir, name);
    report.bytes += statSync(file).size;
    report.blobs++;
    rmSync(file, { force: true });
  }
  return report;
}

function removeWhole(cacheRoot: string, dir: string): void {
  const away = join(cacheRoot, `.prune-${process.pid}-${Math.random().toString(36).slice(2)}`);
  renameSync(dir, away);
  rmSync(away, { recursive: true, force: true });
}
