import { setFlagsFromString } from 'node:v8';

/**
 * The commands whose work is moving bytes from socket to socket or file. Their JavaScript is glue around native
 * hashing and I/O, so V8 is given a lean shape for them:
 * - no optimising compiler. Tiering the glue up on a background thread costs ~3 MB of peak RSS (its code pages and
 *   compile zones); without it a 500 MB registry copy spends ~10% more user CPU (1.15 s against 1.05 s) in the same
 *   wall time, since the copy waits on sockets;
 * - a 1 MB young generation, which Node takes only on its command line: scavenges come every 512 KiB streamed
 *   anyway (src/copy/releaseStreamedBuffers.ts), and the 8 MB one sized while modules load stays resident;
 * - a garbage collector on the main thread only. Each of those scavenges finds a tiny live set, and handing it to
 *   helper threads costs more than the work: with 2 cores shared with two registries the main thread waited on
 *   them for 300–360 ms of a 5 × 100 MB copy, against 100–160 ms alone, and the copy used ~6% less CPU (paired
 *   A/B, 8 copies at 100 MB and 6 at 200 MB). Only the command line can set it: set later, V8 aborts in its next
 *   full collection.
 * The first two: peak RSS 60–62 MiB against 62–65 in a paired A/B of 10 copies of 5 × 100 MB, in the same wall and
 * CPU time. With the third, bench/registry-copy.ts: 60 MiB at 100 and 200 MB.
 * Builds and run are left alone: their tar and layer code is JavaScript that tiers up for real.
 */
export const leanStreamingCommands = ['copy', 'sync', 'push', 'pull', 'save', 'load'];

/** What the launcher (scripts/bundle.mjs) starts Node with for those commands. */
export const leanStreamingNodeFlags = ['--max-semi-space-size=1', '--no-turbofan', '--single-threaded-gc'];

/** In-process, for a start the launcher did not shape (`berth --debug copy`, `node dist/bin/berth.js copy`). */
export function useLeanStreamingCompiler(command: string): void {
  if (leanStreamingCommands.includes(command)) setFlagsFromString('--no-turbofan');
}
