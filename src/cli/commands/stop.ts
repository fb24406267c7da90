import { BerthError } from '../../errors/BerthError.js';
import { ContainerRecords } from '../../run/containerRecords.js';
import { RuntimeClient } from '../../run/runtimeClient.js';
import { parseFlags, type Command, type FlagSpec } from '../command.js';

const flagSpec: FlagSpec = { string: ['time'], alias: { t: 'time' } };

export const stopCommand: Command = {
  name: 'stop',
  flags: flagSpec,
  usage: `
Usage: berth stop [-t SECONDS] CONTAINER...

Send the image's stop signal (default SIGTERM), then SIGKILL after the timeout (default 10 s).
A container started with --rm is removed once stopped.
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'stop');
    const names = flags._.map(String);
    if (names.length === 0) throw new BerthError('USAGE', 'stop: expected at least one container');
    const timeout = flags.time === undefined ? 10 : Number(flags.time);
    if (!Number.isFinite(timeout) || timeout < 0) throw new BerthError('USAGE', 'stop: -t must be a number of seconds');
    const records = new ContainerRecords();
    for (const name of names) {
      const record = records.find(name);
      const runtime = new RuntimeClient(records.runtimeRoot, record.runtime);
      const running = () => ['running', 'created', 'paused'].includes(runtime.status(record.id));
      if (running()) {
        await runtime.kill(record.id, record.stopSignal ?? 'TERM');
        const deadline = Date.now() + timeout * 1000;
        while (running() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        if (running()) await runtime.kill(record.id, 'KILL');
        for (let i = 0; i < 500 && running(); i++) await new Promise((r) => setTimeout(r, 20));
        if (running()) throw new BerthError('RUNTIME_ERROR', `container ${name} did not stop after SIGKILL`);
      }
      if (record.autoRemove) {
        await runtime.delete(record.id, true);
        records.remove(record.id);
      }
      process.stdout.write(`${name}\n`);
    }
    return 0;
  },
};
