import type { Command } from '../command.js';
import { copyCommand } from './copy.js';
import { inspectCommand } from './inspect.js';
import { deleteCommand } from './delete.js';
import { listTagsCommand } from './list-tags.js';
import { syncCommand } from './sync.js';
import { loginCommand } from './login.js';
import { logoutCommand } from './logout.js';
import { manifestDigestCommand } from './manifest-digest.js';
import { imagesCommand } from './images.js';
import { rmiCommand } from './rmi.js';
import { registryCommand } from './registry.js';
import { generateKeyCommand } from './generate-key.js';
import { signCommand } from './sign.js';
import { verifyCommand } from './verify.js';
import { unpackCommand } from './unpack.js';

/** Every berth subcommand, in the order `berth --help` lists them. Add a command by adding its module here. */
export const commands: Command[] = [
  copyCommand,
  inspectCommand,
  deleteCommand,
  listTagsCommand,
  syncCommand,
  loginCommand,
  logoutCommand,
  manifestDigestCommand,
  imagesCommand,
  rmiCommand,
  registryCommand,
  generateKeyCommand,
  signCommand,
  verifyCommand,
  unpackCommand,
];
