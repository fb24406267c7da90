import type { Platform } from '../../../src/oci/platform.js';

/** Proxy arguments every RUN sees when given with --build-arg, without an ARG; kept out of history and cache text. */
export const proxyArgs = new Set([
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
]);

function platformString(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/**
 * TARGETPLATFORM and friends: defined in the global scope (usable in FROM), and inside a stage only once the stage
 * declares them with ARG, as BuildKit has it.
 */
export function platformArgs(target: Platform, build: Platform): Map<string, string> {
  return new Map([
    ['TARGETPLATFORM', platformString(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['BUILDPLATFORM', platformString(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
  ]);
}

/**
 * The ARGs a scope (the global one before the first FROM, or one stage) has declared, in declaration order, with
 * their values; a declared ARG with neither default nor --build-arg nor global value has no value (undefined).
 */
export class ArgScope {
  readonly declared = new Map<string, string | undefined>();

  constructor(
    private readonly buildArgs: Record<string, string>,
    /** Values an ARG without default inherits: the global ARGs and the platform args. */
    private readonly inherited: ReadonlyMap<string, string | undefined>,
  ) {}

  /** ARG name[=default]; `defaultValue` already expanded. Returns the value it now has. */
  declare(name: string, defaultValue: string | undefined): string | undefined {
    const value = Object.hasOwn(this.buildArgs, name) ? this.buildArgs[name] : (defaultValue ?? this.inherited.get(name));
    this.declared.set(name, value);
    return value;
  }

  value(name: string): string | undefined {
    return this.declared.get(name);
  }

  /** Declared ARGs that have a value, as `K=V`, sorted by name (buildah's `|N K=V ...` order). */
  withValues(): [string, string][] {
    return [...this.declared].filter((e): e is [string, string] => e[1] !== undefined).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** Proxy args given with --build-arg that the scope did not declare: RUN sees them, history does not. */
  undeclaredProxies(): [string, string][] {
    return Object.entries(this.buildArgs).filter(([k]) => proxyArgs.has(k) && !this.declared.has(k));
  }
}
