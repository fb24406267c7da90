import type { Command } from '../command.js';
import { copyCommand } from './copy.js';

/** Every berth subcommand, in the order `berth --help` lists them. Add a command by adding its module here. */
export const commands: Command[] = [
  copyCommand,
];
