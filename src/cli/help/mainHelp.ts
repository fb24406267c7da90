import { commands } from '../commands/index.js';

/** `berth --help`: every command with its summary (and the source of berth(1)). */
export function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'berth — a daemonless container-image toolchain',
    '',
    'Usage: berth [--debug] COMMAND [OPTIONS] [ARGS]',
    '       berth --context DIR --destination IMAGE [KANIKO FLAGS]   (as kaniko\'s executor; see berth executor --help)',
    '',
    'Commands:',
    ...lines,
    '',
    'Run "berth COMMAND --help" for a command\'s options. "berth --version" prints the version.',
  ].join('\n');
}
