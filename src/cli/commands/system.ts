import { existsSync } from 'node:fs';
import { BerthError } from '../../errors/BerthError.js';
import { ContainerRecords } from '../../run/containerRecords.js';
import { RootfsCache } from '../../store/rootfsCache.js';
import { parseFlags, type Command } from '../command.js';

export const systemCommand: Command = {
  name: 'system',
  usage: `
Usage: berth system prune [OPTIONS]

Free the space of berth's local caches: the images "berth run" unpacked that no
existing container uses (the next run unpacks them again), and unpacks left
half-done by a process that died. Stored images and containers are kept
(berth rmi and berth rm remove those).

Options:
  -q, --quiet        print nothing on success
      --format json  print what was removed as JSON
`,
  async run(argv) {
    const flags = parseFlags(argv, { boolean: ['quiet'], string: ['format'], alias: { q: 'quiet' } }, 'system');
    const [sub, ...rest] = flags._.map(String);
    if (sub !== 'prune') throw new BerthError('USAGE', sub === undefined ? 'system: expected a subcommand: prune (see berth system --help)' : `system: unknown subcommand "${sub}" (prune)`);
    if (rest.length > 0) throw new BerthError('USAGE', `system prune: expected no arguments, got ${rest.length}`);
    if (flags.format !== undefined && flags.format !== 'json') throw new BerthError('USAGE', `system prune: unsupported --format "${String(flags.format)}" (json)`);
    const records = new ContainerRecords();
    const report = await new RootfsCache().prune((id) => existsSync(records.containerDir(id)));
    if (flags.format === 'json') process.stdout.write(`${JSON.stringify({ rootfsCache: report }, null, 2)}\n`);
    else if (!flags.quiet) process.stdout.write(`Removed ${report.removed.length} unpacked image(s) and ${report.orphans} unfinished unpack(s); kept ${report.kept.length} in use\n`);
    return 0;
  },
};
