import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConformanceSuite } from './support/conformance.js';
import { startBerth } from './support/targets.js';

// berth's server must pass every case of the suite; no case is skipped.
defineConformanceSuite('berth', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-conformance-'));
  const target = await startBerth(root, { chunkMinLength: 4096 });
  return {
    ...target,
    close: async () => {
      await target.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}, {});
