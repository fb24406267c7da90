import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { berthBin } from '../../support/peers.js';

const execFileAsync = promisify(execFile);

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run the built berth CLI synchronously with extra environment. */
export function berth(args: string[], env: Record<string, string> = {}): RunResult {
  const result = spawnSync(process.execPath, [berthBin, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Run the built berth CLI asynchronously (for concurrent writers). */
export async function berthAsync(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [berthBin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    return { status: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Run a peer tool; returns status and output instead of throwing. */
export function tool(path: string, args: string[], env: Record<string, string> = {}): RunResult {
  const result = spawnSync(path, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/**
 * `oci-image-tool validate --type image DIR [--ref name=TAG]`; returns the result so tests can show its output.
 * Without a tag it validates every entry of index.json. Its `--ref` filter (1.0.0-rc1) deletes from the list it
 * iterates and so reports "not unique" on layouts with three or more entries: pass a tag only for small layouts.
 */
export function validateLayout(ociImageTool: string, dir: string, tag?: string): RunResult {
  return tool(ociImageTool, ['validate', '--type', 'image', dir, ...(tag ? ['--ref', `name=${tag}`] : [])]);
}
