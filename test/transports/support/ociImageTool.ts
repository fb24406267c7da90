import { runSync, type RunResult } from '../../support/runCli.js';

/**
 * `oci-image-tool validate --type image DIR [--ref name=TAG]`; returns the result so tests can show its output.
 * Without a tag it validates every entry of index.json. Its `--ref` filter (1.0.0-rc1) deletes from the list it
 * iterates and so reports "not unique" on layouts with three or more entries: pass a tag only for small layouts.
 */
export function validateLayout(ociImageTool: string, dir: string, tag?: string): RunResult {
  return runSync(ociImageTool, ['validate', '--type', 'image', dir, ...(tag ? ['--ref', `name=${tag}`] : [])]);
}
