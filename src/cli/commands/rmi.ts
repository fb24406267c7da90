import { BerthError } from '../../errors/BerthError.js';
import { StoreReference, STORE_TRANSPORT } from '../../transports/store/storeTransport.js';
import { parseFlags, type Command, type FlagSpec } from '../command.js';

const flagSpec: FlagSpec = { boolean: ['quiet'], string: ['format'], alias: { q: 'quiet' } };

export const rmiCommand: Command = {
  name: 'rmi',
  flags: flagSpec,
  usage: `
Usage: berth rmi [OPTIONS] NAME[:TAG|@DIGEST]...

Remove each named image from the local store: its tag goes, and so do the
blobs no other stored image uses. NAME may carry the berth: prefix.

Options:
      --format json   print what was untagged and deleted as JSON
  -q, --quiet   print nothing on success
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'rmi');
    if (flags.format !== undefined && flags.format !== 'json') throw new BerthError('USAGE', `rmi: unsupported --format "${String(flags.format)}" (json)`);
    const report: { image: string; untagged: string[]; blobsDeleted: number }[] = [];
    const names = flags._.map(String);
    if (names.length === 0) throw new BerthError('USAGE', 'rmi: expected at least one image name (see berth rmi --help)');
    const refs = names.map((n) => new StoreReference(n.startsWith(`${STORE_TRANSPORT}:`) ? n.slice(STORE_TRANSPORT.length + 1) : n));
    for (const ref of refs) {
      const deleted = await ref.remove();
      report.push({ image: String(ref.name ?? ref.dockerReference), untagged: deleted.removed.map((e) => e.digest), blobsDeleted: deleted.blobsDeleted.length });
      if (flags.quiet || flags.format === 'json') continue;
      for (const entry of deleted.removed) {
        process.stdout.write(`Untagged: ${ref.name ?? ref.dockerReference} (${entry.digest})\n`);
      }
      process.stdout.write(`Deleted: ${deleted.blobsDeleted.length} blob(s)\n`);
    }
    if (flags.format === 'json') process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  },
};
