import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

const APPLETS = ['sh', 'ls', 'cat', 'echo', 'id', 'true', 'false', 'pwd', 'env'];

/**
 * A small runnable busybox image made by umoci itself (init, new, unpack,
 * copy busybox + applet links, repack, config, gc), as PEERS.md describes.
 * Returns the layout path; the image is tagged `tag`.
 */
export function makeUmociBusybox(umoci: string, work: string, config: { user?: string; workdir?: string; entrypoint?: string[]; cmd?: string[]; env?: string[]; tag?: string } = {}): string {
  const tag = config.tag ?? 'base';
  const layout = join(work, 'layout');
  const staging = join(work, 'staging');
  const run = (...args: string[]): void => {
    execFileSync(umoci, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  run('init', '--layout', layout);
  run('new', '--image', `${layout}:${tag}`);
  run('unpack', '--image', `${layout}:${tag}`, staging);
  const rootfs = join(staging, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  mkdirSync(join(rootfs, 'srv/data'), { recursive: true, mode: 0o750 });
  mkdirSync(join(rootfs, 'tmp'), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet));
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\naudio:x:29:app,root\nnogroup:x:65534:\n');
  writeFileSync(join(rootfs, 'srv/data/owned'), 'owned by app\n', { mode: 0o640 });
  execFileSync('chown', ['-R', '1000:50', join(rootfs, 'srv/data')]);
  execFileSync('ln', [join(rootfs, 'bin/busybox'), join(rootfs, 'bin/busybox.hard')]);
  run('repack', '--image', `${layout}:${tag}`, staging);
  const cfg = ['config', '--image', `${layout}:${tag}`, '--os', 'linux', '--architecture', 'amd64'];
  for (const e of config.env ?? ['PATH=/bin']) cfg.push('--config.env', e);
  for (const c of config.cmd ?? ['/bin/sh']) cfg.push('--config.cmd', c);
  for (const e of config.entrypoint ?? []) cfg.push('--config.entrypoint', e);
  if (config.user) cfg.push('--config.user', config.user);
  if (config.workdir) cfg.push('--config.workingdir', config.workdir);
  run(...cfg);
  run('gc', '--layout', layout);
  return layout;
}
