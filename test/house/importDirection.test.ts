import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

/**
 * Imports point one way (docs/ARCHITECTURE.md): a room may import its own floor and the floors below it,
 * never one above. Floors, lowest first; a room not listed here fails the test until it is given a floor.
 */
const FLOORS: Record<string, number> = {
  // The model: types, digests, references, tars. Knows nothing about the network, the CLI or a builder.
  'src/errors': 0,
  'src/packageFile.ts': 0,
  'src/oci': 0,
  'src/reference': 0,
  'src/layer': 0,
  // Talking to registries, and the configuration that says how.
  'src/credentials': 1,
  'src/registries-conf': 1,
  'registry/client': 1,
  // Images: transports, the copy pipeline, reading, mutating, unpacking, the local store.
  'src/transports': 2,
  'src/copy': 2,
  'src/image': 2,
  'src/inspect': 2,
  'src/bundle': 2,
  'src/store': 2,
  // Workflows over images.
  'src/sign': 3,
  'src/sync': 3,
  'src/run': 3,
  'src/runtime': 3,
  'registry/server': 3,
  'builders/dockerfile': 3,
  'builders/node': 3,
  // Clients of everything: the CLI and the library's entry modules.
  'src/cli': 4,
  'src/index.ts': 4,
  'registry/index.ts': 4,
};

/** Rooms that other rooms enter only through their front door (the room's index.ts). */
const FRONT_DOORS = ['registry/client'];

const repo = new URL('../../../', import.meta.url).pathname;

/** The room of a repository path: its first two segments (`src/sign`), or a top-level file (`src/index.ts`). */
function roomOf(path: string): string {
  const parts = path.split('/');
  return parts.slice(0, Math.min(2, parts.length)).join('/');
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Every relative import of a file (static, dynamic, type-only, side-effect), as repository paths. */
function importsOf(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1] as string);
  return specifiers.map((s) => relative(repo, resolve(dirname(file), s)).replace(/\.js$/, '.ts'));
}

/** Imports that point up, or into or out of a room without a floor, as `from -> to` lines. */
export function wrongImports(graph: { file: string; imports: string[] }[], floors: Record<string, number>): string[] {
  const wrong: string[] = [];
  for (const { file, imports } of graph) {
    const from = roomOf(file);
    for (const target of imports) {
      const to = roomOf(target);
      if (to === from) continue;
      const a = floors[from];
      const b = floors[to];
      if (a === undefined) wrong.push(`${file}: room ${from} has no floor`);
      else if (b === undefined) wrong.push(`${file} -> ${target}: room ${to} has no floor`);
      else if (b > a) wrong.push(`${file} -> ${target}: ${from} (floor ${a}) imports ${to} (floor ${b})`);
      else if (FRONT_DOORS.includes(to) && target !== `${to}/index.ts`) wrong.push(`${file} -> ${target}: ${to} is entered through ${to}/index.ts`);
    }
  }
  return [...new Set(wrong)];
}

test('imports point one way: no room imports a room above it, and the registry client is entered through its index', () => {
  const files = ['src', 'registry', 'builders'].flatMap((d) => sourceFiles(join(repo, d)));
  assert.ok(files.length > 100, `found only ${files.length} source files under ${repo}`);
  const graph = files.map((path) => ({ file: relative(repo, path), imports: importsOf(path, readFileSync(path, 'utf8')) }));
  assert.deepEqual(wrongImports(graph, FLOORS), []);
});

test('the import check catches an import that points up, and a room without a floor', () => {
  const graph = [
    { file: 'src/oci/manifest.ts', imports: ['src/oci/digest.ts', 'src/errors/BerthError.ts'] },
    { file: 'src/layer/tarWriter.ts', imports: ['src/cli/command.ts'] },
    { file: 'src/sign/copyFlags.ts', imports: ['src/cli/command.ts', 'src/copy/copyImage.ts'] },
    { file: 'src/newroom/thing.ts', imports: ['src/oci/digest.ts'] },
    { file: 'src/transports/docker/deleteImage.ts', imports: ['registry/client/body.ts', 'registry/client/index.ts'] },
    { file: 'registry/client/RegistryClient.ts', imports: ['registry/client/body.ts'] },
  ];
  assert.deepEqual(wrongImports(graph, FLOORS), [
    'src/layer/tarWriter.ts -> src/cli/command.ts: src/layer (floor 0) imports src/cli (floor 4)',
    'src/sign/copyFlags.ts -> src/cli/command.ts: src/sign (floor 3) imports src/cli (floor 4)',
    'src/newroom/thing.ts: room src/newroom has no floor',
    'src/transports/docker/deleteImage.ts -> registry/client/body.ts: registry/client is entered through registry/client/index.ts',
  ]);
  const imports = importsOf(join(repo, 'src/sign/x.ts'), "import type { A } from '../cli/a.js';\nimport './side.js';\nconst m = await import('../../registry/client/blobs.js');\n");
  assert.deepEqual(imports, ['src/cli/a.ts', 'src/sign/side.ts', 'registry/client/blobs.ts']);
});
