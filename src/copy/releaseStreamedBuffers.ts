import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Every socket read hands the copy a fresh buffer, and a blob streams through in a few hundred thousand of them.
 * They die young, but their backing stores live outside V8's heap: V8 only collects them when its young
 * generation fills (the small wrappers fill it slowly) or external memory has grown by tens of MB, so a copy's RSS
 * rises by that much, and glibc does not give the pages back. A scavenge every 512 KiB streamed (well under a
 * millisecond for a heap this small) returns them as they die. A buffer that waits out two scavenges (queued for a
 * destination slower than its source while other blobs flow) is promoted and waits for a full collection: without
 * one, 20 MB of them piled up whenever the destination lagged, and peak RSS ranged over 65–87 MB from run to run.
 * When they pass 4 MB, a full collection (~1 ms here) frees them.
 */
const EVERY_BYTES = 512 * 1024;
const PROMOTED_LIMIT_BYTES = 4 * 1024 * 1024;

// gc() with no argument is a full collection; Node 20's V8 takes { type: 'major' } and frees nothing.
type Collect = (options?: { type: 'minor' }) => void;

let collect: Collect | undefined | null = null;
let streamed = 0;
/** The least external memory seen after a scavenge: what the copy holds live (a full collection frees backing
 * stores on a background thread, so the figure read right after one is still high). */
let lowestExternal = Infinity;

function collector(): Collect | undefined {
  if (collect === null) {
    try {
      // The documented way to reach V8's gc() without starting Node with --expose-gc.
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as Collect;
    } catch {
      collect = undefined;
    }
  }
  return collect;
}

/** Count bytes a copy streamed; every 512 KiB, let V8 return the buffers that carried them. */
export function releaseStreamedBuffers(bytes: number): void {
  streamed += bytes;
  if (streamed < EVERY_BYTES) return;
  streamed = 0;
  const gc = collector();
  if (!gc) return;
  gc({ type: 'minor' });
  const external = getHeapStatistics().external_memory;
  lowestExternal = Math.min(lowestExternal, external);
  if (external > lowestExternal + PROMOTED_LIMIT_BYTES) gc();
}
