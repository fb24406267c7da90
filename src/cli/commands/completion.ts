import { BerthError } from '../../errors/BerthError.js';
import { parseFlags, type Command, type FlagSpec } from '../command.js';
import { completionScript, SHELLS } from '../help/shellCompletion.js';

const flagSpec: FlagSpec = {};

export const completionCommand: Command = {
  name: 'completion',
  flags: flagSpec,
  subcommands: Object.fromEntries(SHELLS.map((shell) => [shell, {}])),
  usage: `
Usage: berth completion bash|zsh|fish

Print a completion script for the shell: every command, subcommand and flag, generated from the same flag
definitions berth's parsers use (so it never offers a flag berth refuses).

  bash:  source <(berth completion bash)          or write it to /etc/bash_completion.d/berth
  zsh:   berth completion zsh > "\${fpath[1]}/_berth"   (then compinit), or source it after compinit
  fish:  berth completion fish > ~/.config/fish/completions/berth.fish
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'completion');
    const [shell, ...rest] = flags._.map(String);
    if (shell === undefined || rest.length > 0) throw new BerthError('USAGE', `completion: expected one shell (${SHELLS.join(', ')})`);
    const { commands } = await import('./index.js');
    const loaded = await Promise.all(commands.map(async (entry) => ({ entry, command: await entry.load() })));
    const script = completionScript(
      shell,
      loaded.map(({ entry, command }) => ({ name: entry.name, summary: entry.summary, flags: command.flags, ...(command.subcommands ? { subcommands: command.subcommands } : {}) })),
    );
    process.stdout.write(script);
    return 0;
  },
};
