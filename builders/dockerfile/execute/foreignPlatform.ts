import { readFileSync } from 'node:fs';
import { BerthError } from '../../../src/errors/BerthError.js';
import { formatPlatform, hostPlatform, type Platform } from '../../../src/oci/platform.js';

/** The name QEMU's binfmt handler takes for an OCI architecture. */
const QEMU_NAMES: Record<string, string> = { arm64: 'aarch64', arm: 'arm', ppc64le: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips64le: 'mips64el', '386': 'i386', amd64: 'x86_64' };

/** Architectures a host runs natively besides its own. */
const NATIVE_TOO: Record<string, string[]> = { amd64: ['386'], arm64: ['arm'] };

function emulated(architecture: string): boolean {
  const name = QEMU_NAMES[architecture];
  if (!name) return false;
  try {
    return readFileSync(`/proc/sys/fs/binfmt_misc/qemu-${name}`, 'utf8').startsWith('enabled');
  } catch {
    return false;
  }
}

/**
 * A RUN step for a platform this host cannot execute fails before it starts, in one line (a COPY-only build for
 * another platform needs nothing to run and works anywhere).
 */
export function checkRunnable(platform: Platform, line: number): void {
  const host = hostPlatform();
  if (platform.os !== host.os) throw new BerthError('UNSUPPORTED', `Dockerfile:${line}: RUN for ${formatPlatform(platform)} cannot run on ${formatPlatform(host)}`);
  if (platform.architecture === host.architecture || NATIVE_TOO[host.architecture]?.includes(platform.architecture) || emulated(platform.architecture)) return;
  throw new BerthError('UNSUPPORTED', `Dockerfile:${line}: RUN for ${formatPlatform(platform)} needs emulation, and this host has no binfmt handler for ${platform.architecture} (install qemu-user-static and binfmt-support)`);
}
