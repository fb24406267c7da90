import { createReadStream, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pipeline } from 'node:stream/promises';
import { ContainerRecords } from '../../run/containerRecords.js';
import { RuntimeClient } from '../../run/runtimeClient.js';
import { parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';

const flagSpec: FlagSpec = { boolean: ['follow'], alias: { f: 'follow' } };

export const logsCommand: Command = {
  name: 'logs',
  flags: flagSpec,
  usage: `
Usage: berth logs [OPTIONS] CONTAINER

Print what a detached container (berth run -d) wrote to its stdout and stderr.

Options:
  -f, --follow   keep printing new output until the container stops
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'logs');
    const args = flags._.map(String);
    requireArgs(args, 1, 'logs', 'CONTAINER');
    const records = new ContainerRecords();
    const record = records.find(args[0]!);
    const file = records.logFile(record.id);
    const size = () => {
      try {
        return statSync(file).size;
      } catch {
        return 0;
      }
    };
    let printed = 0;
    const printNew = async () => {
      const end = size();
      if (end > printed) await pipeline(createReadStream(file, { start: printed, end: end - 1 }), process.stdout, { end: false });
      printed = Math.max(printed, end);
    };
    await printNew();
    if (!flags.follow) return 0;
    const runtime = new RuntimeClient(records.runtimeRoot, record.runtime);
    while (['running', 'created', 'paused'].includes(runtime.status(record.id))) {
      await sleep(100);
      await printNew();
    }
    await printNew();
    return 0;
  },
};
