// Bundles the two CLIs (after tsc) into dist/bin/: loading a few files instead of dozens of ES modules is
// most of what start-up costs above Node itself (berth-runc run: 73 → 59 ms here). Dependencies stay in
// node_modules, except undici in berth's bundle (below); berth's lazily loaded commands become chunks, loaded
// when used, while berth-runc is one file (every runtime command is small, and each start-up counts). Bundles
// sit at the depth of dist/src/ so that src/packageFile.ts finds the package root from either.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outdir: 'dist/bin', logLevel: 'warning' };

// undici goes into berth's bundle: every registry command loads it, and as ~35 separate CommonJS files it cost
// ~10 ms of each start-up. Its HTTP/2 client loads node:http2 as it is defined (~15 ms more here), although berth
// never asks for HTTP/2; in the bundle undici finds node:http2 absent, the case it handles itself for a Node
// built without it. The other dependencies are each loaded by few commands and stay in node_modules.
const undiciWithoutHttp2 = {
  name: 'undici-without-http2',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, ({ path, importer }) => {
      if (path === 'node:http2' && importer.endsWith('/undici/lib/dispatcher/client-h2.js')) return { path, namespace: 'absent' };
      if (path.startsWith('node:') || path === 'undici' || path.startsWith('undici/')) return undefined;
      return { path, external: true };
    });
    build.onLoad({ filter: /.*/, namespace: 'absent' }, ({ path }) => ({ contents: `throw new Error('${path} is left out of this bundle');` }));
  },
};
// Bundled CommonJS calls require() for Node's built-in modules; an ES module has none of its own.
const requireInEsm = `import { createRequire as createRequireForBundledCommonJs } from 'node:module';
const require = createRequireForBundledCommonJs(import.meta.url);`;
await build({
  ...common,
  packages: undefined,
  entryPoints: { berth: 'dist/src/cli/main.js' },
  splitting: true,
  plugins: [undiciWithoutHttp2],
  banner: { js: requireInEsm },
});
// berth-runc is CommonJS: Node's ES module loader costs ~5 ms of every `berth-runc run` (45 against 50 ms here),
// and runc's whole run takes 25. import.meta.url is the bundle's own URL either way (src/packageFile.ts).
await build({
  ...common,
  format: 'cjs',
  entryPoints: { 'berth-runc': 'dist/src/runtime/cli/main.js' },
  outExtension: { '.js': '.cjs' },
  define: { 'import.meta.url': 'bundleUrl' },
  banner: { js: 'const bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
});
// The layer decode worker boots on the critical path of every unpack: one CommonJS file starts ~6 ms sooner than
// its ES modules (Node's ES module loader is set up per thread).
await build({ ...common, format: 'cjs', entryPoints: { 'decode-worker': 'dist/src/layer/decodeWorker.js' }, outExtension: { '.js': '.cjs' } });

// The launchers are sh/JavaScript polyglots rather than `#!/usr/bin/env -S …`: BusyBox's env (Alpine, busybox-based
// CI images) has no -S. sh runs line 2 (`:` is a no-op, then exec); Node reads it as a string and a comment.
// Node would parse NODE_EXTRA_CA_CERTS's bundle on every start-up (~30 ms): berth-runc opens no TLS connection, and
// berth hands the file to its registry client itself (BERTH_NODE_EXTRA_CA_CERTS), only when it connects. berth's
// streaming commands get V8 flags that Node takes only on its command line (src/cli/leanStreamingCompiler.ts).
const { leanStreamingCommands, leanStreamingNodeFlags } = await import('../dist/src/cli/leanStreamingCompiler.js');
const launchers = {
  'dist/bin/berth.js': `export BERTH_NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; case "$1" in ${leanStreamingCommands.join('|')}) exec node ${leanStreamingNodeFlags.join(' ')} "$0" "$@";; esac; `,
  'dist/bin/berth-runc.cjs': 'unset NODE_EXTRA_CA_CERTS; ',
};
for (const [bin, prelude] of Object.entries(launchers)) {
  writeFileSync(bin, `#!/bin/sh\n':' //; ${prelude}exec node "$0" "$@"\n${readFileSync(bin, 'utf8')}`);
  chmodSync(bin, 0o755);
}
