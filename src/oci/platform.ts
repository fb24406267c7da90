import { BerthError } from '../errors/BerthError.js';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  features?: string[];
}

const archAliases: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
  i686: '386',
};

/** Normalise the way containerd does: x86_64→amd64, aarch64→arm64 (variant v8), arm defaults to v7. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  if (architecture === 'armhf') variant ??= 'v7';
  if (architecture === 'armel') variant ??= 'v6';
  architecture = archAliases[architecture] ?? architecture;
  if (architecture === 'arm64' && (variant === undefined || variant === '8')) variant = 'v8';
  if (architecture === 'arm' && variant === undefined) variant = 'v7';
  if (architecture === 'arm' && variant !== undefined && /^\d+$/.test(variant)) variant = `v${variant}`;
  const out: Platform = { architecture, os };
  if (variant) out.variant = variant;
  if (p['os.version']) out['os.version'] = p['os.version'];
  return out;
}

/** Parse `os/arch[/variant]` as --platform flags spell it. */
export function parsePlatform(spec: string): Platform {
  const parts = spec.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((part) => part === '')) {
    throw new BerthError('USAGE', `invalid platform "${spec}": expected os/arch[/variant]`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return normalizePlatform(variant ? { os, architecture, variant } : { os, architecture });
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Does `candidate` (from an index) satisfy the `wanted` platform? */
export function platformMatches(wanted: Platform, candidate: Platform | undefined): boolean {
  if (!candidate) return false;
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return false;
  if (w.variant !== undefined && c.variant !== undefined && w.variant !== c.variant) return false;
  if (w.variant !== undefined && c.variant === undefined) return w.architecture !== 'arm';
  return true;
}

export function hostPlatform(): Platform {
  const archMap: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return normalizePlatform({ os: process.platform === 'win32' ? 'windows' : process.platform, architecture: archMap[process.arch] ?? process.arch });
}
