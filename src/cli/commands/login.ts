import { RegistryClient, type RegistryOptions } from '../../../registry/client/index.js';
import { primaryAuthFile } from '../../credentials/authFiles.js';
import { storeLogin } from '../../credentials/login.js';
import { resolveCredentials } from '../../credentials/resolve.js';
import { BerthError } from '../../errors/BerthError.js';
import { parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';

/** `host` or `host/namespace/repo` as login keys are written; schemes and trailing slashes dropped. */
export function loginKey(input: string): string {
  const key = input.replace(/^(docker:\/\/|https?:\/\/)/, '').replace(/\/+$/, '');
  if (!/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::\d+)?(?:\/[a-z0-9._-]+)*$/.test(key)) {
    throw new BerthError('USAGE', `login: "${input}" is not a registry (HOST[:PORT][/NAMESPACE])`);
  }
  return key === 'index.docker.io' || key === 'registry-1.docker.io' ? 'docker.io' : key;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const flagSpec: FlagSpec = { string: ['username', 'password', 'authfile', 'cert-dir'], boolean: ['password-stdin', 'get-login', 'tls-verify'], alias: { u: 'username', p: 'password' }, default: { 'tls-verify': true } };

export const loginCommand: Command = {
  name: 'login',
  flags: flagSpec,
  usage: `
Usage: berth login [OPTIONS] REGISTRY

Check the credentials against REGISTRY, then store them in the auth file
($REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, or --authfile),
or in the credential helper that file names for REGISTRY (credHelpers/credsStore).

Options:
  -u, --username USER         user name
  -p, --password PASS         password (prefer --password-stdin)
      --password-stdin        read the password from standard input
      --get-login             print the user name stored for REGISTRY and exit
      --authfile FILE         auth file to write
      --tls-verify=false      do not verify TLS certificates; allow plain HTTP
      --cert-dir DIR          CA certificates and client key pair
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'login');
    const args = flags._.map(String);
    requireArgs(args, 1, 'login', 'REGISTRY');
    const key = loginKey(args[0]!);
    const host = key.split('/')[0]!;
    const authFile = flags.authfile === undefined ? undefined : String(flags.authfile);
    if (flags['get-login']) {
      const found = await resolveCredentials(host, key.includes('/') ? key.slice(host.length + 1) : undefined, authFile ? { authFile } : {});
      if (!found || found.credentials.kind !== 'basic') throw new BerthError('NOT_FOUND', `not logged into ${key}`);
      process.stdout.write(`${found.credentials.username}\n`);
      return 0;
    }
    const username = flags.username === undefined ? undefined : String(flags.username);
    if (!username) throw new BerthError('USAGE', 'login: give the user name with --username (berth never prompts)');
    if (flags['password-stdin'] && flags.password !== undefined) throw new BerthError('USAGE', 'login: --password and --password-stdin cannot be used together');
    const password = flags['password-stdin'] ? await readStdin() : flags.password === undefined ? undefined : String(flags.password);
    if (password === undefined || password === '') throw new BerthError('USAGE', 'login: give the password with --password-stdin or --password');
    const options: RegistryOptions = { creds: `${username}:${password}`, retryTimes: 1 };
    if (flags['tls-verify'] === false) options.tlsVerify = false;
    if (flags['cert-dir'] !== undefined) options.certDir = String(flags['cert-dir']);
    const client = new RegistryClient(host, options);
    await client.ping();
    const where = await storeLogin(key, username, password, authFile);
    process.stdout.write(`Login Succeeded!\n`);
    if (flags.debug) process.stderr.write(`credentials stored in ${where} (default file ${primaryAuthFile(authFile)})\n`);
    return 0;
  },
};
