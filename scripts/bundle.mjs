// Bundles the two CLIs (after tsc) into dist/bin/: loading a few files instead of dozens of ES modules is
// most of what start-up costs above Node itself (berth-runc run: 73 → 59 ms here). Dependencies stay in
// node_modules; berth's lazily loaded commands become chunks, loaded when used, while berth-runc is one file
// (every runtime command is small, and each start-up counts). Bundles sit at the depth of dist/src/ so that
// src/packageFile.ts finds the package root from either.
import { chmodSync } from 'node:fs';
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outdir: 'dist/bin', logLevel: 'warning' };
await build({ ...common, entryPoints: { berth: 'dist/src/cli/main.js' }, splitting: true });
await build({ ...common, entryPoints: { 'berth-runc': 'dist/src/runtime/cli/main.js' } });
// The layer decode worker boots on the critical path of every unpack: one CommonJS file starts ~6 ms sooner than
// its ES modules (Node's ES module loader is set up per thread).
await build({ ...common, format: 'cjs', entryPoints: { 'decode-worker': 'dist/src/layer/decodeWorker.js' }, outExtension: { '.js': '.cjs' } });
for (const bin of ['dist/bin/berth.js', 'dist/bin/berth-runc.js']) chmodSync(bin, 0o755);
