import { BerthError } from '../../errors/BerthError.js';
import { StoreReference, STORE_TRANSPORT } from '../../transports/store/storeTransport.js';
import { parseFlags, type Command } from '../command.js';

export const rmiCommand: Command = {
  name: 'rmi',
  usage: `
Usage: berth rmi [OPTIONS] NAME[:TAG|@DIGEST]...

Remove each named image from the local store: its tag goes, and so do the
blobs no other stored image uses. NAME may carry the berth: prefix.

Options:
  -q, --quiet   print nothing on success
`,
  async run(argv) {
    const flags = parseFlags(argv, { boolean: ['quiet'], alias: { q: 'quiet' } }, 'rmi');
    const names = flags._.map(String);
    if (names.length === 0) throw new BerthError('USAGE', 'rmi: expected at least one image name (see berth rmi --help)');
    const refs = names.map((n) => new StoreReference(n.startsWith(`${STORE_TRANSPORT}:`) ? n.slice(STORE_TRANSPORT.length + 1) : n));
    for (const ref of refs) {
      const deleted = await ref.remove();
      if (flags.quiet) continue;
      for (const entry of deleted.removed) {
        process.stdout.write(`Untagged: ${ref.name ?? ref.dockerReference} (${entry.digest})\n`);
      }
      process.stdout.write(`Deleted: ${deleted.blobsDeleted.length} blob(s)\n`);
    }
    return 0;
  },
};
