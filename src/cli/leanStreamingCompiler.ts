import { setFlagsFromString } from 'node:v8';

/**
 * For commands whose work is moving bytes from socket to socket or file (copy, sync, push, pull, save, load):
 * their JavaScript is glue around native hashing and I/O, and V8's optimising compiler, tiering that glue up on a
 * background thread, costs ~5 MB of peak RSS (its own code pages and its compile zones) for no time we could
 * measure (bench/registry-copy.ts). Set before the command's work starts; it holds for the rest of the process.
 * Builds and run are left alone: their tar and layer code is JavaScript that tiers up for real.
 */
export function useLeanStreamingCompiler(): void {
  setFlagsFromString('--no-turbofan');
}
