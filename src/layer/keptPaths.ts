/**
 * Paths of a root that a writer must leave alone (a builder working in place in its own container: /proc, mount
 * points, its own install and cache directories). Paths are byte strings relative to the root, without slashes at
 * either end.
 */
export class KeptPaths {
  private readonly kept = new Set<string>();
  private readonly ancestors = new Set<string>();

  constructor(paths: Iterable<string>) {
    for (const path of paths) {
      const rel = path.replace(/^\/+|\/+$/g, '').replace(/\/{2,}/g, '/');
      if (rel === '') continue;
      this.kept.add(rel);
      for (let slash = rel.lastIndexOf('/'); slash > 0; slash = rel.lastIndexOf('/', slash - 1)) this.ancestors.add(rel.slice(0, slash));
      this.ancestors.add('');
    }
  }

  /** `rel` is a kept path or lies under one. */
  isKept(rel: string): boolean {
    if (this.kept.has(rel)) return true;
    for (let slash = rel.lastIndexOf('/'); slash > 0; slash = rel.lastIndexOf('/', slash - 1)) if (this.kept.has(rel.slice(0, slash))) return true;
    return false;
  }

  /** `rel` is a directory above a kept path: it must stay, though its other contents may go. */
  holdsKept(rel: string): boolean {
    return this.ancestors.has(rel);
  }

  get paths(): string[] {
    return [...this.kept].sort();
  }
}
