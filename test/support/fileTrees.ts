import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Every path of a tree with what a user notices: type, mode, owner, link target, content. */
export function treeOf(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, path));
      let what = `${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) what += ` -> ${readlinkSync(join(root, path))}`;
      else if (st.isFile()) what += ` ${createHash('sha256').update(readFileSync(join(root, path))).digest('hex').slice(0, 16)}`;
      out.set(path, what);
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return out;
}
