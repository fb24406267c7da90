import { BerthError } from '../../errors/BerthError.js';
import { flagList, parseFlags, type Command, type FlagSpec } from '../command.js';

export function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)([bkmg]?)$/i.exec(text.trim());
  if (!m) throw new BerthError('USAGE', `${flag}: invalid size "${text}" (e.g. 512m, 1g)`);
  const mult = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'b' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * mult);
}

const flagSpec: FlagSpec = {
  string: ['name', 'user', 'workdir', 'network', 'hostname', 'memory', 'cpus', 'pids-limit', 'entrypoint', 'runtime', 'env', 'env-file', 'volume', 'cap-add', 'cap-drop'],
  boolean: ['rm', 'detach', 'interactive', 'tty', 'read-only'],
  alias: { d: 'detach', e: 'env', u: 'user', w: 'workdir', v: 'volume', i: 'interactive', t: 'tty', m: 'memory' },
  stopEarly: true,
};

export const runCommand: Command = {
  name: 'run',
  flags: flagSpec,
  usage: `
Usage: berth run [OPTIONS] IMAGE [COMMAND [ARG...]]

Run IMAGE (the local store by default, pulled over docker:// when missing; or any
TRANSPORT:REF) with berth-runc, or with any runc-CLI runtime given by --runtime.
In the foreground the exit status is the container's (128+signal when killed).

Options:
      --rm                   remove the container when it exits
  -d, --detach               run in the background; output goes to the container's log file
      --name NAME            name the container (default berth_ID)
  -e, --env KEY[=VALUE]      set an environment variable (repeatable; bare KEY copies it from here)
      --env-file FILE        read KEY=VALUE lines (repeatable)
  -u, --user USER[:GROUP]    user (name or id) to run as
  -w, --workdir DIR          working directory inside the container
  -v, --volume SRC:DST[:ro]  bind mount a host path (repeatable)
      --network none|host    no network (default: its own namespace with only loopback) or the host's
  -i, --interactive          pass stdin to the container
  -t, --tty                  give the container a pseudo-terminal (-it for a shell; with -d its
                             output goes to the log; --runtime without -d needs stdin a terminal)
      --hostname NAME        hostname inside (default: the container id's first 12 characters)
      --read-only            mount the root file system read-only
      --cap-add CAP          add a capability (repeatable; ALL for all)
      --cap-drop CAP         drop a capability (repeatable; ALL for all)
  -m, --memory SIZE          memory limit (e.g. 256m)
      --cpus N               CPU quota in CPUs (e.g. 0.5)
      --pids-limit N         process limit
      --entrypoint CMD       replace the image's entrypoint ("" clears it)
      --runtime PATH         a runc-compatible runtime (runc, crun, runsc, kata-runtime); default berth-runc
`,
  async run(argv) {
    // Flags stop at IMAGE: what follows is the container's command line, flags and all. -it and -dit combine as podman's do.
    const flags = parseFlags(argv, flagSpec, 'run');
    const [image, ...command] = flags._.map(String);
    /** A single-valued flag: given twice, the last one counts (as with podman). */
    const str = (value: unknown): string | undefined => flagList(value).at(-1);
    if (!image) throw new BerthError('USAGE', 'run: expected IMAGE [COMMAND...] (see berth run --help)');
    const network = str(flags.network) ?? 'none';
    if (network !== 'none' && network !== 'host') throw new BerthError('UNSUPPORTED', `run: --network ${network}: only none and host are supported`);
    const num = (name: string): number | undefined => {
      const v = str(flags[name]);
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new BerthError('USAGE', `run: --${name} must be a positive number, got "${v}"`);
      return n;
    };
    const memory = str(flags.memory);
    const { runImage } = await import('../../run/runImage.js');
    const result = await runImage({
      image,
      command,
      entrypoint: str(flags.entrypoint),
      name: str(flags.name),
      rm: flags.rm === true,
      detach: flags.detach === true,
      env: flagList(flags.env),
      envFiles: flagList(flags['env-file']),
      user: str(flags.user),
      workdir: str(flags.workdir),
      volumes: flagList(flags.volume),
      network,
      tty: flags.tty === true,
      interactive: flags.interactive === true,
      hostname: str(flags.hostname),
      readOnly: flags['read-only'] === true,
      capAdd: flagList(flags['cap-add']),
      capDrop: flagList(flags['cap-drop']),
      memory: memory === undefined ? undefined : parseSize(memory, '--memory'),
      cpus: num('cpus'),
      pidsLimit: num('pids-limit'),
      runtime: str(flags.runtime),
      onProgress: (m) => process.stderr.write(`berth: ${m}\n`),
    });
    if (flags.detach) process.stdout.write(`${result.id}\n`);
    return result.status;
  },
};
