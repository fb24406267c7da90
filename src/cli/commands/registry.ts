import { homedir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { collectGarbage } from '../../../registry/server/gc/collectGarbage.js';
import { startRegistryServer, type RegistryAuthOptions, type RequestLogEntry } from '../../../registry/server/startRegistryServer.js';
import { parseFlags, type Command, type FlagSpec } from '../command.js';

const usage = `
Usage: berth registry serve [OPTIONS]
       berth registry gc --root DIR [OPTIONS]

serve: run berth's embedded OCI distribution-spec v1.1 registry until SIGTERM/SIGINT.
  --addr HOST:PORT        listen address (default 127.0.0.1:5000; [::1]:PORT for IPv6)
  --root DIR              storage folder (default $BERTH_ROOT/registry or $XDG_DATA_HOME/berth/registry)
  --tls-cert FILE         PEM certificate; with --tls-key the registry speaks HTTPS only
  --tls-key FILE          PEM private key
  --htpasswd FILE         require Basic auth against a bcrypt htpasswd file (htpasswd -B)
  --token-auth FILE       issue and require Bearer tokens; FILE is the JSON users/access config
                          (see docs/registry-server.md)
  --max-upload-bytes N    refuse blobs larger than N bytes (default: no limit)
  --max-manifest-bytes N  refuse manifests larger than N bytes (default 4194304)
  --chunk-min-length N    advertise OCI-Chunk-Min-Length N and refuse smaller non-final chunks
  --no-delete             refuse DELETE of manifests, tags and blobs
  --proxy-remote URL      pull-through mirror of the registry at URL (pushes and deletes refused)
  --proxy-creds USER:PASS credentials for the upstream of --proxy-remote
  --allow-anonymous-remote  serve a non-loopback address without authentication
  --log-format text|json  one line per request on stderr: time, client, method, path, status, bytes, duration
  --quiet                 print neither the listening line nor the request lines

gc: remove blobs no manifest references, stale uploads and temp files.
  --root DIR              storage folder (required)
  --delete-untagged       also delete manifests that no tag reaches
  --grace SECONDS         keep unreferenced blobs younger than this (default 600: pushes in progress)
  --upload-max-age SECONDS  remove upload sessions untouched this long (default 86400)
  --verify                re-hash every kept blob, delete any whose bytes do not match its digest
  --dry-run               report what would be removed, remove nothing
  --format json           print the report as JSON
`;

function defaultRoot(): string {
  if (process.env.BERTH_ROOT) return join(process.env.BERTH_ROOT, 'registry');
  return join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'berth', 'registry');
}

function numberFlag(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new BerthError('USAGE', `registry: ${flag} takes a non-negative whole number, got "${String(value)}"`);
  return n;
}

const serveFlags: FlagSpec = {
  string: ['addr', 'root', 'tls-cert', 'tls-key', 'htpasswd', 'token-auth', 'max-upload-bytes', 'max-manifest-bytes', 'chunk-min-length', 'proxy-remote', 'proxy-creds', 'log-format'],
  boolean: ['delete', 'allow-anonymous-remote', 'quiet'],
  default: { delete: true },
};

const gcFlags: FlagSpec = { string: ['root', 'grace', 'upload-max-age', 'format'], boolean: ['delete-untagged', 'verify', 'dry-run'] };

async function serve(argv: string[]): Promise<number> {
  const flags = parseFlags(
    argv,
    serveFlags,
    'registry serve',
  );
  if (flags._.length > 0) throw new BerthError('USAGE', `registry serve: unexpected argument "${String(flags._[0])}"`);
  const cert = flags['tls-cert'] as string | undefined;
  const key = flags['tls-key'] as string | undefined;
  if ((cert === undefined) !== (key === undefined)) throw new BerthError('USAGE', 'registry serve: --tls-cert and --tls-key go together');
  if (flags['proxy-creds'] && !flags['proxy-remote']) throw new BerthError('USAGE', 'registry serve: --proxy-creds needs --proxy-remote');
  if (flags.htpasswd && flags['token-auth']) throw new BerthError('USAGE', 'registry serve: choose one of --htpasswd and --token-auth');
  const auth: RegistryAuthOptions = flags.htpasswd
    ? { mode: 'htpasswd', file: String(flags.htpasswd) }
    : flags['token-auth']
      ? { mode: 'token', configFile: String(flags['token-auth']) }
      : { mode: 'none' };
  const root = (flags.root as string | undefined) ?? defaultRoot();
  const logFormat = (flags['log-format'] as string | undefined) ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new BerthError('USAGE', `registry serve: --log-format must be text or json, got "${logFormat}"`);
  const registry = await startRegistryServer({
    addr: (flags.addr as string | undefined) ?? '127.0.0.1:5000',
    root,
    auth,
    ...(cert && key ? { tls: { cert, key } } : {}),
    maxUploadBytes: numberFlag(flags['max-upload-bytes'], '--max-upload-bytes'),
    maxManifestBytes: numberFlag(flags['max-manifest-bytes'], '--max-manifest-bytes'),
    chunkMinLength: numberFlag(flags['chunk-min-length'], '--chunk-min-length'),
    deleteEnabled: flags.delete !== false,
    allowAnonymousRemote: flags['allow-anonymous-remote'] === true,
    ...(flags['proxy-remote'] ? { proxy: { remote: String(flags['proxy-remote']), ...(flags['proxy-creds'] ? { creds: String(flags['proxy-creds']) } : {}) } } : {}),
    log: (line) => process.stderr.write(`berth registry: ${line}\n`),
    ...(flags.quiet ? {} : { onRequestDone: (e: RequestLogEntry) => process.stderr.write(`${logFormat === 'json' ? JSON.stringify(e) : `${e.time} ${e.remote} ${e.method} ${e.path} ${e.status} ${e.bytes} ${e.durationMs}ms`}\n`) }),
  });
  if (!flags.quiet) process.stdout.write(`berth registry listening on ${registry.url} (root ${root}, auth ${auth.mode})\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void registry.close().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}

async function gc(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, gcFlags, 'registry gc');
  if (!flags.root) throw new BerthError('USAGE', 'registry gc: --root DIR is required');
  const format = flags.format as string | undefined;
  if (format !== undefined && format !== 'json') throw new BerthError('USAGE', `registry gc: unsupported --format "${format}" (json)`);
  const grace = numberFlag(flags.grace, '--grace');
  const uploadAge = numberFlag(flags['upload-max-age'], '--upload-max-age');
  const report = await collectGarbage({
    root: String(flags.root),
    deleteUntagged: flags['delete-untagged'] === true,
    verify: flags.verify === true,
    dryRun: flags['dry-run'] === true,
    ...(grace !== undefined ? { gracePeriodMs: grace * 1000 } : {}),
    ...(uploadAge !== undefined ? { uploadMaxAgeMs: uploadAge * 1000 } : {}),
    log: format ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
  if (format === 'json') process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const verb = flags['dry-run'] ? 'would free' : 'freed';
    process.stdout.write(
      `gc: ${report.blobsRemoved} blobs removed (${verb} ${report.bytesFreed} bytes), ${report.blobsKept} kept, ${report.manifestsRemoved} manifests removed, ` +
        `${report.uploadsRemoved} uploads and ${report.tempFilesRemoved} temp files removed, ${report.corruptBlobs.length} corrupt, ${report.brokenManifests.length} broken manifests\n`,
    );
  }
  return report.corruptBlobs.length > 0 || report.brokenManifests.length > 0 ? 1 : 0;
}

export const registryCommand: Command = {
  name: 'registry',
  usage,
  flags: {},
  subcommands: { serve: serveFlags, gc: gcFlags },
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'serve') return serve(rest);
    if (sub === 'gc') return gc(rest);
    throw new BerthError('USAGE', `registry: expected "serve" or "gc"${sub ? `, got "${sub}"` : ''} (see berth registry --help)`);
  },
};
