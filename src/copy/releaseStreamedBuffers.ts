import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Every socket read hands the copy a fresh buffer, and a blob streams through in a few hundred thousand of them.
 * They die young, but their backing stores live outside V8's heap: V8 only collects them when its young
 * generation fills (the small wrappers fill it slowly) or external memory has grown by tens of MB, so a copy's RSS
 * rises by that much, and glibc does not give the pages back. A scavenge every 512 KiB streamed (well under a
 * millisecond for a heap this small) returns them as they die: copy's peak RSS stays near what berth itself takes.
 */
const EVERY_BYTES = 512 * 1024;

let scavenge: ((options: { type: 'minor' }) => void) | undefined | null = null;
let streamed = 0;

function collector(): ((options: { type: 'minor' }) => void) | undefined {
  if (scavenge === null) {
    try {
      // The documented way to reach V8's gc() without starting Node with --expose-gc.
      setFlagsFromString('--expose-gc');
      scavenge = runInNewContext('gc') as (options: { type: 'minor' }) => void;
    } catch {
      scavenge = undefined;
    }
  }
  return scavenge;
}

/** Count bytes a copy streamed; every 512 KiB, let V8 return the buffers that carried them. */
export function releaseStreamedBuffers(bytes: number): void {
  streamed += bytes;
  if (streamed < EVERY_BYTES) return;
  streamed = 0;
  collector()?.({ type: 'minor' });
}
