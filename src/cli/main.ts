import { readFileSync } from 'node:fs';
import { BerthError, toBerthError } from '../errors/BerthError.js';
import { exitCodeFor } from './exitCodes.js';
import { packageFile } from '../packageFile.js';
import { commands } from './commands/index.js';
import { mainHelp } from './help/mainHelp.js';
import { useLeanStreamingCompiler } from './leanStreamingCompiler.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug') || process.env.BERTH_DEBUG === '1';
  const args = argv.filter((a, i) => !(a === '--debug' && i === argv.indexOf('--debug')));
  const [name, ...rest] = args;
  try {
    if (name === 'help' && rest.length > 0) return await main([rest[0]!, '--help']);
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(`${mainHelp()}\n`);
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-v' || name === 'version') {
      process.stdout.write(`berth version ${version()}\n`);
      return 0;
    }
    // kaniko's executor takes flags only: `berth --context=… --destination=…` is a kaniko Job whose image changed.
    if (name.startsWith('-')) return await main(['executor', ...args]);
    const entry = commands.find((c) => c.name === name);
    if (!entry) throw new BerthError('USAGE', `unknown command "${name}" (see berth --help)`);
    const command = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`${command.usage.trim()}\n`);
      return 0;
    }
    useLeanStreamingCompiler(name);
    return await command.run(rest);
  } catch (err) {
    const error = toBerthError(err);
    process.stderr.write(`berth: ${error.message}\n`);
    if (debug) process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    return exitCodeFor(error.code);
  }
}

// The first line keeps NODE_EXTRA_CA_CERTS from Node's start-up (registry/client/tlsTrust.ts reads it when a TLS
// connection needs it); the processes berth starts (credential helpers, runtimes, hooks) get it back unchanged.
if (process.env.BERTH_NODE_EXTRA_CA_CERTS) process.env.NODE_EXTRA_CA_CERTS = process.env.BERTH_NODE_EXTRA_CA_CERTS;

const status = await main(process.argv.slice(2));
process.exitCode = status;
