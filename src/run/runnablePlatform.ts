import { readFileSync } from 'node:fs';
import { formatPlatform, hostPlatform, type Platform } from '../oci/platform.js';

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
 * Why this host cannot run programs built for `platform` (natively, or through a QEMU binfmt handler), or
 * undefined when it can.
 */
export function whyNotRunnable(platform: Platform): string | undefined {
  const host = hostPlatform();
  if (platform.os !== host.os) return `${formatPlatform(platform)} cannot run on ${formatPlatform(host)}`;
  if (platform.architecture === host.architecture || NATIVE_TOO[host.architecture]?.includes(platform.architecture) || emulated(platform.architecture)) return undefined;
  return `${formatPlatform(platform)} needs emulation, and this host has no binfmt handler for ${platform.architecture} (install qemu-user-static and binfmt-support)`;
}
