import { BerthError } from '../../errors/BerthError.js';
import { ContainerRecords } from '../../run/containerRecords.js';
import { RuntimeClient } from '../../run/runtimeClient.js';
import { parseFlags, type Command, type FlagSpec } from '../command.js';

const flagSpec: FlagSpec = { boolean: ['force'], alias: { f: 'force' } };

export const rmCommand: Command = {
  name: 'rm',
  flags: flagSpec,
  usage: `
Usage: berth rm [-f] CONTAINER...

Remove stopped containers (their runtime state and bundle). -f kills running ones first.
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'rm');
    const names = flags._.map(String);
    if (names.length === 0) throw new BerthError('USAGE', 'rm: expected at least one container');
    const records = new ContainerRecords();
    for (const name of names) {
      const record = records.find(name);
      const runtime = new RuntimeClient(records.runtimeRoot, record.runtime);
      const status = runtime.status(record.id);
      if (status !== 'stopped' && status !== 'unknown' && !flags.force) throw new BerthError('CONTAINER_STATE', `container ${name} is ${status}: stop it first or use rm -f`);
      if (status !== 'unknown') await runtime.delete(record.id, true);
      records.remove(record.id);
      process.stdout.write(`${name}\n`);
    }
    return 0;
  },
};
