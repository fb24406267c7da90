import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../../errors/BerthError.js';

/** The C helper built by `npm run build:native` into dist/native/. */
export function helperBinary(): string {
  const path = process.env.BERTH_RUNC_INIT ?? fileURLToPath(new URL('../../../native/berth-runc-init', import.meta.url));
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new BerthError('RUNTIME_ERROR', `the berth-runc helper is not built (${path}); run "npm run build:native" (needs a C compiler)`);
  }
  return path;
}

/** The pty relay `berth run -t` receives the console socket's master with (built next to the helper). */
export function consoleRelayBinary(): string {
  const path = process.env.BERTH_CONSOLE_RELAY ?? fileURLToPath(new URL('../../../native/berth-console-relay', import.meta.url));
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new BerthError('RUNTIME_ERROR', `berth-console-relay is not built (${path}); run "npm run build:native" (needs a C compiler)`);
  }
  return path;
}
