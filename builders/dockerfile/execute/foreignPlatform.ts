import { BerthError } from '../../../src/errors/BerthError.js';
import type { Platform } from '../../../src/oci/platform.js';
import { whyNotRunnable } from '../../../src/run/runnablePlatform.js';

/**
 * A RUN step for a platform this host cannot execute fails before it starts, in one line (a COPY-only build for
 * another platform needs nothing to run and works anywhere).
 */
export function checkRunnable(platform: Platform, line: number): void {
  const reason = whyNotRunnable(platform);
  if (reason) throw new BerthError('UNSUPPORTED', `Dockerfile:${line}: RUN for ${reason}`);
}
