import { accessSync, constants } from 'node:fs';
import { BerthError } from '../../errors/BerthError.js';
import { packageFile } from '../../packageFile.js';

/** The C helper built by `npm run build:native` into dist/native/. */
export function helperBinary(): string {
  const path = process.env.BERTH_RUNC_INIT ?? packageFile('dist/native/berth-runc-init');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new BerthError('RUNTIME_ERROR', `the berth-runc helper is not built (${path}); run "npm run build:native" (needs a C compiler)`);
  }
  return path;
}

/** The pty relay `berth run -t` receives the console socket's master with (built next to the helper). */
export function consoleRelayBinary(): string {
  const path = process.env.BERTH_CONSOLE_RELAY ?? packageFile('dist/native/berth-console-relay');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new BerthError('RUNTIME_ERROR', `berth-console-relay is not built (${path}); run "npm run build:native" (needs a C compiler)`);
  }
  return path;
}
