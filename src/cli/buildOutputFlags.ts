import type minimist from 'minimist';
import { writeFileSync } from 'node:fs';
import { BerthError } from '../errors/BerthError.js';
import type { FlagSpec } from './command.js';

/** The output flags both builders take (buildah's names): where the image goes and what is written about it. */
export const buildOutputFlagSpec: FlagSpec = { string: ['tag', 'label', 'iidfile', 'digestfile'], boolean: ['quiet'], alias: { t: 'tag', q: 'quiet' } };

export const buildOutputUsage = `
  -t, --tag IMAGE           where the image goes (repeatable): a berth reference, or a bare name for the local store
      --label K=V           add a label to the image (repeatable)
      --iidfile FILE        write the image ID (config digest) to FILE
      --digestfile FILE     write the manifest digest of the first -t to FILE
  -q, --quiet               print only the image ID`;

/** K=V items of a repeatable flag (--label, --env-style). */
export function keyValues(items: string[], flag: string, command: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new BerthError('USAGE', `${command}: ${flag} must be KEY=VALUE, got "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** The pinned build time: the flag's value, else $SOURCE_DATE_EPOCH, in whole seconds since 1970. */
export function buildTimestamp(flagValue: string | undefined, command: string): Date | undefined {
  const text = flagValue ?? process.env.SOURCE_DATE_EPOCH;
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 0) throw new BerthError('USAGE', `${command}: the timestamp must be whole seconds since 1970, got "${text}"`);
  return new Date(seconds * 1000);
}

/** --iidfile and --digestfile, then the image ID on stdout (as buildah prints it). */
export function writeBuildOutputs(flags: minimist.ParsedArgs, result: { imageId: string; destinations: { manifestDigest: string }[] }, command: string): void {
  if (flags.iidfile) writeFileSync(String(flags.iidfile), result.imageId);
  if (flags.digestfile) {
    const first = result.destinations[0];
    if (!first) throw new BerthError('USAGE', `${command}: --digestfile needs a -t destination`);
    writeFileSync(String(flags.digestfile), first.manifestDigest);
  }
  process.stdout.write(`${result.imageId}\n`);
}
