import { appendFileSync } from 'node:fs';
import { BerthError, toBerthError } from '../../errors/BerthError.js';
import { describeFlags, HelpRequested, parseArgs, str } from './parseArgs.js';
import type { GlobalOptions } from './globalOptions.js';

/** Each command's module loads only when it runs: start-up cost is the point of this file's shape. */
const commands: Record<string, () => Promise<{ run(g: GlobalOptions, argv: string[]): Promise<number> }>> = {
  create: () => import('./commands/create.js'),
  start: () => import('./commands/start.js'),
  run: () => import('./commands/run.js'),
  state: () => import('./commands/state.js'),
  kill: () => import('./commands/kill.js'),
  delete: () => import('./commands/delete.js'),
  list: () => import('./commands/list.js'),
  spec: () => import('./commands/spec.js'),
  exec: () => import('./commands/exec.js'),
  ps: () => import('./commands/ps.js'),
  pause: () => import('./commands/pause.js'),
  resume: () => import('./commands/resume.js'),
  events: () => import('./commands/events.js'),
  update: () => import('./commands/update.js'),
  features: () => import('./commands/features.js'),
};

/** What each command does: the top-level usage lists them, `berth-runc CMD --help` starts with its own. */
const summaries: Record<string, string> = {
  create: 'create a container (its process waits for start)',
  start: 'run the user process of a created container',
  run: 'create and start a container',
  state: 'print the state of a container (JSON)',
  kill: "send a signal to a container's init (or --all processes)",
  delete: 'delete a stopped container (--force: any)',
  list: 'list containers (--format table|json, -q)',
  exec: 'run a new process inside a container',
  ps: 'list the processes of a container',
  pause: 'freeze all processes of a container',
  resume: 'thaw a paused container',
  events: 'show container events and stats (--stats)',
  update: 'change the resources of a container',
  spec: 'write a new config.json (--rootless)',
  features: 'show what this runtime supports (JSON)',
};

const usage = `berth-runc — a runc-compatible OCI runtime

Usage: berth-runc [global options] COMMAND [command options] [arguments]

Commands:
${Object.entries(summaries).map(([name, text]) => `  ${name.padEnd(10)}${text}`).join('\n')}

Global options:
  --root DIR          state directory (default /run/berth-runc)
  --log FILE          also write errors to FILE
  --log-format FMT    text or json
  --debug             show stack traces
  --systemd-cgroup    use systemd cgroups (not available: no systemd)
  --rootless VALUE    true|false|auto
  --version, -v       print the version`;

const SPEC_VERSION = '1.0.2-dev';

async function main(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, {
    string: ['root', 'log', 'log-format', 'rootless', 'criu'],
    boolean: ['debug', 'systemd-cgroup', 'help', 'version'],
    alias: { h: 'help', v: 'version' },
  }, '');
  const uid = process.getuid?.() ?? 0;
  const global: GlobalOptions = {
    root: str(flags.root) ?? (uid !== 0 && process.env.XDG_RUNTIME_DIR ? `${process.env.XDG_RUNTIME_DIR}/berth-runc` : '/run/berth-runc'),
    log: str(flags.log),
    logFormat: str(flags['log-format']) === 'json' ? 'json' : 'text',
    debug: flags.debug === true,
    rootless: rootlessFlag(str(flags.rootless)),
  };
  logTarget = global;
  if (flags.version) {
    const { readFileSync } = await import('node:fs');
    const { packageFile } = await import('../../packageFile.js');
    const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };
    process.stdout.write(`berth-runc version ${pkg.version}\ncommit: berth-${pkg.version}\nspec: ${SPEC_VERSION}\n`);
    return 0;
  }
  const [name, ...rest] = positionals;
  if (flags.help || name === undefined || name === 'help') {
    process.stdout.write(`${usage}\n`);
    return name === undefined && !flags.help ? 1 : 0;
  }
  if (flags['systemd-cgroup']) throw new BerthError('UNSUPPORTED', '--systemd-cgroup: systemd is not running on this host; use cgroupfs paths');
  const load = commands[name];
  if (!load) throw new BerthError('USAGE', `no such command: ${name}`);
  return (await load()).run(global, rest);
}

function rootlessFlag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === 'auto') return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new BerthError('USAGE', `--rootless must be true, false or auto, got "${value}"`);
}

let logTarget: GlobalOptions | undefined;

function commandHelp(help: HelpRequested): string {
  const options = describeFlags(help.spec);
  return [
    `Usage: berth-runc ${help.command} [command options] [arguments]`,
    '',
    `${help.command}: ${summaries[help.command] ?? ''}`,
    ...(options.length > 0 ? ['', 'Options:', ...options] : []),
  ].join('\n');
}

function report(err: unknown): number {
  if (err instanceof HelpRequested) {
    process.stdout.write(`${commandHelp(err)}\n`);
    return 0;
  }
  const error = toBerthError(err);
  process.stderr.write(`berth-runc: ${error.message}\n`);
  if (logTarget?.debug) process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  if (logTarget?.log) {
    const time = new Date().toISOString();
    const line = logTarget.logFormat === 'json'
      ? JSON.stringify({ level: 'error', msg: error.message, time })
      : `time="${time}" level=error msg=${JSON.stringify(error.message)}`;
    try {
      appendFileSync(logTarget.log, `${line}\n`);
    } catch {
      // the log is best effort; stderr already has the message
    }
  }
  return 1;
}

// No top-level await: the bundle is CommonJS (see scripts/bundle.mjs).
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err);
  },
);
