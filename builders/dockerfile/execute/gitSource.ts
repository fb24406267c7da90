import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { BerthError } from '../../../src/errors/BerthError.js';

const run = promisify(execFile);

/**
 * Whether an ADD source names a git repository, as BuildKit tells them apart: `git@host:path`, `git://` and
 * `ssh://` URLs, and http(s) URLs whose path ends in `.git`; a `#ref[:subdir]` fragment may follow.
 */
export function isGitUrl(source: string): boolean {
  const url = source.split('#')[0]!;
  return /^git@[^:]+:/.test(url) || /^(git|ssh):\/\//.test(url) || (/^https?:\/\//.test(url) && /\.git\/?$/.test(url));
}

function parseGitSource(source: string): { remote: string; ref: string; subdir: string } {
  const hash = source.indexOf('#');
  const remote = hash < 0 ? source : source.slice(0, hash);
  const fragment = hash < 0 ? '' : source.slice(hash + 1);
  const colon = fragment.indexOf(':');
  const ref = (colon < 0 ? fragment : fragment.slice(0, colon)) || 'HEAD';
  const subdir = colon < 0 ? '' : posix.normalize(fragment.slice(colon + 1)).replace(/^\/+|\/+$/g, '');
  if (subdir === '..' || subdir.startsWith('../')) throw new BerthError('USAGE', `ADD ${source}: the subdirectory leaves the repository`);
  return { remote, ref, subdir: subdir === '.' ? '' : subdir };
}

async function git(args: string[], source: string, cwd?: string): Promise<string> {
  try {
    // No prompt for credentials: a build must fail, not wait for a terminal.
    const { stdout } = await run('git', args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' }, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new BerthError('NOT_FOUND', `ADD ${source}: git is not installed, and ADD of a git repository needs it`);
    const line = (e.stderr ?? e.message).trim().split('\n').filter(Boolean).pop() ?? 'failed';
    throw new BerthError('NETWORK_ERROR', `ADD ${source}: git ${args[0]}: ${line}`);
  }
}

/** The commit a ref names on the remote (a full commit id is taken as it is). */
async function resolveRef(remote: string, ref: string, source: string): Promise<string> {
  if (/^[0-9a-f]{40}$/.test(ref)) return ref;
  const lines = (await git(['ls-remote', remote, ref], source)).split('\n').filter(Boolean);
  // An annotated tag is listed twice; its peeled line (^{}) names the commit.
  const chosen = lines.find((l) => l.endsWith(`refs/tags/${ref}^{}`)) ?? lines.find((l) => /\trefs\/(heads|tags)\//.test(l) || l.endsWith('\tHEAD')) ?? lines[0];
  const commit = chosen?.split('\t')[0];
  if (!commit) throw new BerthError('NOT_FOUND', `ADD ${source}: ${remote} has no ref "${ref}"`);
  return commit;
}

/** A git source with its ref resolved to a commit (what the step's cache key holds: a moved branch is a new step). */
export interface ResolvedGitSource {
  source: string;
  remote: string;
  subdir: string;
  commit: string;
}

export async function resolveGitSource(source: string): Promise<ResolvedGitSource> {
  const { remote, ref, subdir } = parseGitSource(source);
  return { source, remote, subdir, commit: await resolveRef(remote, ref, source) };
}

/**
 * Check a resolved repository out as BuildKit's ADD does: a shallow fetch of that one commit into the build's
 * scratch, `.git` removed unless `keepGitDir`. Returns the directory whose contents ADD copies.
 */
export async function checkoutGitSource(resolved: ResolvedGitSource, scratch: string, keepGitDir: boolean): Promise<string> {
  const { source, remote, subdir, commit } = resolved;
  const dir = mkdtempSync(join(scratch, '.git-'));
  await git(['init', '-q', dir], source);
  await git(['fetch', '-q', '--depth', '1', remote, commit], source, dir);
  await git(['-c', 'advice.detachedHead=false', 'checkout', '-q', 'FETCH_HEAD'], source, dir);
  if (!keepGitDir) rmSync(join(dir, '.git'), { recursive: true, force: true });
  const chosen = subdir ? join(dir, subdir) : dir;
  if (!existsSync(chosen) || !lstatSync(chosen).isDirectory()) throw new BerthError('NOT_FOUND', `ADD ${source}: ${subdir} is not a directory of ${commit.slice(0, 12)}`);
  return chosen;
}
