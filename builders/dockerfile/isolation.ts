import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageFile } from '../../src/packageFile.js';
import { BerthError } from '../../src/errors/BerthError.js';

/**
 * How RUN steps are isolated: a container of their own; a chroot into a directory the build works in (buildah's
 * chroot, where no namespace can be made); or the build's own root worked in place (kaniko mode).
 */
export type IsolationName = 'container' | 'chroot' | 'none';

const CAP_SYS_CHROOT = 18n;
const CAP_SYS_ADMIN = 21n;

/** The effective capabilities of this process, from /proc (0 when unreadable). */
function effectiveCapabilities(): bigint {
  try {
    const line = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return line ? BigInt(`0x${line[1]}`) : 0n;
  } catch {
    return 0n;
  }
}

/** berth's chroot helper (built with berth-runc's, dist/native), or undefined when it was not built. */
export function chrootHelper(): string | undefined {
  const path = packageFile('dist/native/berth-chroot');
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}

/**
 * The isolation a build gets: the one asked for, else the first the environment allows: `container` where berth can
 * make namespaces and mount overlays (root with CAP_SYS_ADMIN), `chroot` where it can chroot (CAP_SYS_CHROOT, an
 * ordinary pod), else a one-line error naming `--isolation none`. In place is refused outside a container unless
 * forced: it replaces the root filesystem, which on a laptop is the host's.
 */
export function chooseIsolation(requested: string | undefined, force: boolean): { name: IsolationName; why: string } {
  if (requested !== undefined && requested !== 'container' && requested !== 'none' && requested !== 'chroot') {
    throw new BerthError('USAGE', `build: --isolation must be container, chroot or none, got "${requested}"`);
  }
  if (requested === 'none') {
    if (!force && !runningInContainer()) {
      throw new BerthError('USAGE', 'build: --isolation none replaces the root filesystem and is only for a build inside a container (a CI pod); this does not look like one (use --force if it is)');
    }
    return { name: 'none', why: 'in place, in this container\'s own root (kaniko mode)' };
  }
  const root = process.getuid?.() === 0;
  const caps = effectiveCapabilities();
  const canContain = root && ((caps >> CAP_SYS_ADMIN) & 1n) === 1n;
  const canChroot = root && ((caps >> CAP_SYS_CHROOT) & 1n) === 1n;
  if (requested === 'container' || (requested === undefined && canContain)) {
    return { name: 'container', why: canContain ? 'each RUN in a container of its own' : 'each RUN in a container of its own (asked for)' };
  }
  if (requested === 'chroot' || canChroot) {
    if (!chrootHelper()) throw new BerthError('UNSUPPORTED', `build: --isolation chroot needs berth's chroot helper (${packageFile('dist/native/berth-chroot')}); run "npm run build:native" (needs a C compiler)`);
    if (!canChroot) throw new BerthError('UNSUPPORTED', 'build: --isolation chroot needs root with CAP_SYS_CHROOT');
    return { name: 'chroot', why: canContain ? 'each RUN chrooted into the stage\'s files' : 'each RUN chrooted into the stage\'s files; no namespaces here, so RUN shares the network and has no /proc' };
  }
  throw new BerthError('UNSUPPORTED', 'build: RUN steps cannot be isolated here (no root with CAP_SYS_ADMIN for namespaces, nor CAP_SYS_CHROOT); inside a container such as a CI pod, build in place with --isolation none');
}

/** Where the signs of a container are read; a test points them at a fake root. */
export interface ContainerSigns {
  root: string;
  mountinfo: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Whether this process runs in a container: the markers docker, podman and Kubernetes leave, or a root filesystem
 * that is an overlay or a directory bind-mounted as root (a runtime's rootfs), which a host's root never is.
 */
export function runningInContainer(signs: ContainerSigns = { root: '/', mountinfo: '/proc/self/mountinfo', env: process.env }): boolean {
  if (existsSync(join(signs.root, '.dockerenv')) || existsSync(join(signs.root, 'run/.containerenv'))) return true;
  if (signs.env.container || signs.env.KUBERNETES_SERVICE_HOST) return true;
  try {
    for (const line of readFileSync(signs.mountinfo, 'utf8').split('\n')) {
      const fields = line.split(' ');
      if (fields[4] !== '/') continue;
      const fsType = fields[fields.indexOf('-') + 1];
      return fields[3] !== '/' || fsType === 'overlay';
    }
  } catch {
    // No /proc: nothing more to tell.
  }
  return false;
}

/** The directory berth is installed in (its package root), which a build in place keeps. */
export function installRoot(): string {
  return dirname(packageFile('package.json'));
}
