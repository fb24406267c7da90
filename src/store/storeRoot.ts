import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** berth's data root: `$BERTH_ROOT`, else `$XDG_DATA_HOME/berth`, else `~/.local/share/berth`. */
export function storeRoot(override?: string): string {
  if (override) return resolve(override);
  if (process.env.BERTH_ROOT) return resolve(process.env.BERTH_ROOT);
  const data = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(resolve(data), 'berth');
}

/** The OCI layout holding the local store's images, inside the data root. */
export function storeLayoutPath(override?: string): string {
  return join(storeRoot(override), 'images');
}
