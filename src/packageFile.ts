import { fileURLToPath } from 'node:url';

/**
 * A file of the installed package, by its path from the package root (`dist/native/berth-runc-init`).
 * Every module that finds a file of its own package asks here, because the CLIs run as bundles
 * (dist/bin/*.js) where a module's import.meta.url is the bundle's, not its own. This file and the
 * bundles sit at the same depth (dist/src/, dist/bin/), so the root is two levels up from either.
 */
export function packageFile(path: string): string {
  return fileURLToPath(new URL(`../../${path}`, import.meta.url));
}
