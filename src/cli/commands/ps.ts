import { ContainerRecords } from '../../run/containerRecords.js';
import { RuntimeClient } from '../../run/runtimeClient.js';
import { parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';

const flagSpec: FlagSpec = { boolean: ['all', 'quiet'], string: ['format'], alias: { a: 'all', q: 'quiet' } };

export const psCommand: Command = {
  name: 'ps',
  flags: flagSpec,
  usage: `
Usage: berth ps [OPTIONS]

List the containers "berth run" started (running ones; -a for all, with the exit status of those that exited:
"Exited (N)"; a container another runtime ran detached shows "stopped").

Options:
  -a, --all          show stopped containers too
  -q, --quiet        print only the ids
      --format json  print a JSON array
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'ps');
    requireArgs(flags._.map(String), 0, 'ps', 'no arguments');
    const records = new ContainerRecords();
    const rows = records.all().map((r) => {
      const status = new RuntimeClient(records.runtimeRoot, r.runtime).status(r.id);
      const exitCode = status === 'stopped' ? records.exitStatus(r.id) : undefined;
      return { ...r, status, ...(exitCode === undefined ? {} : { exitCode }) };
    });
    const shown = rows.filter((r) => flags.all || r.status === 'running' || r.status === 'created' || r.status === 'paused');
    if (flags.format === 'json') {
      process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      return 0;
    }
    if (flags.quiet) {
      for (const r of shown) process.stdout.write(`${r.id.slice(0, 12)}\n`);
      return 0;
    }
    const table = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'], ...shown.map((r) => [r.id.slice(0, 12), r.image, r.command.join(' ').slice(0, 30), r.created, r.exitCode === undefined ? r.status : `Exited (${r.exitCode})`, r.name])];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) process.stdout.write(`${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('')}\n`);
    return 0;
  },
};
