import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createContextMatcher, loadDockerignore, readIgnorePatterns } from '../../../builders/dockerfile/context/dockerignore.js';
import { tempDir } from '../../support/peers.js';

function matcher(text: string) {
  return createContextMatcher(readIgnorePatterns(text));
}

// Each row: .dockerignore text, then paths Docker leaves out and paths it keeps (moby/patternmatcher's behaviour).
const cases: { name: string; text: string; ignored: string[]; kept: string[] }[] = [
  { name: 'a star stays in one directory', text: '*.md', ignored: ['README.md'], kept: ['docs/a.md', 'md'] },
  { name: '** crosses directories and matches at the top', text: '**/*.md', ignored: ['a.md', 'docs/a.md', 'x/y/z.md'], kept: ['a.txt'] },
  { name: 'a directory pattern takes its children', text: 'docs', ignored: ['docs', 'docs/a', 'docs/a/b'], kept: ['docsx', 'x/docs'] },
  { name: 'an exception re-includes one child', text: 'docs\n!docs/keep.md', ignored: ['docs/other.md'], kept: ['docs/keep.md'] },
  { name: 'the later rule wins', text: '!a\na', ignored: ['a'], kept: [] },
  { name: 'everything but src', text: '*\n!src', ignored: ['x', 'Dockerfile', 'y/z'], kept: ['src', 'src/main.c'] },
  { name: 'leading slash and ./ are cleaned', text: '/foo\n./bar/../baz', ignored: ['foo', 'baz/q'], kept: ['bar', 'x/foo'] },
  { name: 'comments, blanks and spaces', text: '# secret\n\n   tmp   \n  # spaced comment', ignored: ['tmp'], kept: ['secret', '# spaced comment'] },
  { name: 'dir/** takes the contents, not the directory', text: 'a/**', ignored: ['a/b', 'a/b/c'], kept: ['a', 'ab'] },
  { name: '** alone takes everything', text: '**', ignored: ['a', 'a/b/c'], kept: [] },
  { name: '? is one character but never /', text: '?.txt', ignored: ['a.txt'], kept: ['ab.txt', 'x/a.txt'] },
  { name: 'character classes', text: '[a-c].txt\n[^x]y', ignored: ['b.txt', 'zy'], kept: ['d.txt', 'xy'] },
  { name: 'a backslash escapes a glob character', text: 'a\\*b?', ignored: ['a*bc'], kept: ['axbc'] },
  { name: 'regexp characters are literal', text: 'a.b+(c)', ignored: ['a.b+(c)'], kept: ['axb+(c)', 'a.bb(c)'] },
  { name: 'a pattern in the middle matches directories on the way', text: 'x/*/z', ignored: ['x/y/z', 'x/y/z/w'], kept: ['x/z', 'x/y/y/z'] },
  { name: '**/name matches at any depth and the top', text: '**/node_modules', ignored: ['node_modules/a', 'p/node_modules', 'p/q/node_modules/r'], kept: ['node_modulesx'] },
  { name: 'an exception under an exception', text: 'a\n!a/b\na/b/c', ignored: ['a/x', 'a/b/c'], kept: ['a/b', 'a/b/d'] },
];

for (const c of cases) {
  test(`dockerignore: ${c.name}`, () => {
    const m = matcher(c.text);
    for (const p of c.ignored) assert.equal(m.ignores(p), true, `${p} should be ignored by ${JSON.stringify(c.text)}`);
    for (const p of c.kept) assert.equal(m.ignores(p), false, `${p} should be kept by ${JSON.stringify(c.text)}`);
  });
}

test('dockerignore: an ignored directory is walked only when an exception may re-include below it', () => {
  const m = matcher('docs\nbuild\n!docs/keep.md');
  assert.equal(m.mayReinclude('docs'), true);
  assert.equal(m.mayReinclude('build'), false);
  assert.equal(matcher('docs').mayReinclude('docs'), false);
  // BuildKit reaches exceptions through globs too: `!**/keep.txt` and `!b*/x` can re-include below `build`.
  const globbed = matcher('build\nother\n!**/keep.txt');
  assert.equal(globbed.mayReinclude('build'), true);
  assert.equal(globbed.ignores('build/deep/keep.txt'), false);
  assert.equal(globbed.ignores('build/deep/drop.txt'), true);
  const star = matcher('build\nother\n!b*/x');
  assert.deepEqual([star.mayReinclude('build'), star.mayReinclude('other'), star.mayReinclude('build/y')], [true, false, false]);
});

test('dockerignore: a lone ! and an unclosed class are refused in one line naming the file', () => {
  assert.throws(() => createContextMatcher(readIgnorePatterns('!'), 'ctx/.dockerignore'), (err: Error & { code?: string }) => err.code === 'USAGE' && /ctx\/\.dockerignore: illegal exclusion pattern/.test(err.message));
  assert.throws(() => matcher('[abc'), /unclosed \[/);
});

test('dockerignore: <Dockerfile>.dockerignore beside the Dockerfile wins over the context file', async (t) => {
  const dir = tempDir(t);
  const ctx = join(dir, 'ctx');
  mkdirSync(join(ctx, 'build'), { recursive: true });
  writeFileSync(join(ctx, '.dockerignore'), 'a\n');
  writeFileSync(join(ctx, 'build', 'app.Dockerfile'), 'FROM scratch\n');
  writeFileSync(join(ctx, 'build', 'app.Dockerfile.dockerignore'), 'b\n');
  const beside = await loadDockerignore(ctx, join(ctx, 'build', 'app.Dockerfile'));
  assert.deepEqual([beside.ignores('a'), beside.ignores('b')], [false, true]);
  const plain = await loadDockerignore(ctx, join(ctx, 'Dockerfile'));
  assert.deepEqual([plain.ignores('a'), plain.ignores('b')], [true, false]);
  const none = await loadDockerignore(join(dir, 'missing-context'));
  assert.equal(none.ignores('anything'), false);
});
