import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandHeredoc, expandWord, expandWords } from '../../../builders/dockerfile/expand/expandWord.js';

const vars: Record<string, string> = { A: 'a', EMPTY: '', L: 'x y', P: '/usr/bin', F: 'archive.tar.gz' };
const lookup = (name: string) => (Object.hasOwn(vars, name) ? vars[name] : undefined);

// Results as BuildKit's shell lexer gives them (moby/buildkit frontend/dockerfile/shell, envVarTest cases).
const words: [string, string][] = [
  ['$A', 'a'],
  ['${A}', 'a'],
  ['pre${A}post', 'preapost'],
  ['$UNSET', ''],
  ['${UNSET:-x}', 'x'],
  ['${EMPTY:-x}', 'x'],
  ['${EMPTY-x}', ''],
  ['${UNSET-x}', 'x'],
  ['${A:+x}', 'x'],
  ['${EMPTY:+x}', ''],
  ['${EMPTY+x}', 'x'],
  ['${UNSET+x}', ''],
  ['${UNSET:-${A}b}', 'ab'],
  ['${UNSET:-$P/x}', '/usr/bin/x'],
  ["'$A'", '$A'],
  ['"$A"', 'a'],
  ['"${A}"b', 'ab'],
  ['\\$A', '$A'],
  ['"\\$A"', '$A'],
  ['"a\\b"', 'a\\b'],
  ['"a\\"b"', 'a"b'],
  ['a\\ b', 'a b'],
  ["'a\\b'", 'a\\b'],
  ['$', '$'],
  ['a$', 'a$'],
  ['$-x', 'x'],
  ['$1x', 'x'],
  ['$A.$A', 'a.a'],
  ['${A:?boom}', 'a'],
  ['${F#*.}', 'tar.gz'],
  ['${F##*.}', 'gz'],
  ['${F%.*}', 'archive.tar'],
  ['${F%%.*}', 'archive'],
  ['${F#nomatch}', 'archive.tar.gz'],
  ['${P/usr/opt}', '/opt/bin'],
  ['${F/a/_}', '_rchive.tar.gz'],
  ['${F//a/_}', '_rchive.t_r.gz'],
  ['${F//[ae]/}', 'rchiv.tr.gz'],
  ['${F/.tar}', 'archive.gz'],
  ['${UNSET#x}', ''],
];

for (const [input, expected] of words) {
  test(`expandWord ${input} → ${JSON.stringify(expected)}`, () => {
    assert.equal(expandWord(input, lookup), expected);
  });
}

test('expandWord: ${X:?msg} and ${X?msg} fail with the message; unterminated forms fail', () => {
  assert.throws(() => expandWord('${UNSET:?must be set}', lookup), /UNSET: must be set/);
  assert.throws(() => expandWord('${EMPTY:?no}', lookup), /EMPTY: no/);
  assert.equal(expandWord('${EMPTY?no}', lookup), '');
  assert.throws(() => expandWord('${UNSET?}', lookup), /UNSET: is not allowed to be unset/);
  assert.throws(() => expandWord('${A', lookup), /missing '}'/);
  assert.throws(() => expandWord('"abc', lookup), /double-quote/);
  assert.throws(() => expandWord("'abc", lookup), /single-quote/);
  assert.throws(() => expandWord('${A^x}', lookup), /unsupported modifier/);
});

test('expandWord: the escape directive changes the escape character', () => {
  assert.equal(expandWord('`$A', lookup, '`'), '$A');
  assert.equal(expandWord('C:\\dir\\$A', lookup, '`'), 'C:\\dir\\a');
  assert.equal(expandWord('"`""', lookup, '`'), '"');
});

test('expandWords splits unquoted expansions on whitespace, never quoted ones', () => {
  assert.deepEqual(expandWords('$L z', lookup), ['x', 'y', 'z']);
  assert.deepEqual(expandWords('"$L" z', lookup), ['x y', 'z']);
  assert.deepEqual(expandWords("80 '90/udp'", lookup), ['80', '90/udp']);
  assert.deepEqual(expandWords('$EMPTY', lookup), []);
});

test('expandHeredoc expands variables and leaves quotes and backslashes as written', () => {
  assert.equal(expandHeredoc('echo "$A" \'$A\' \\n ${UNSET:-d}\n', lookup), 'echo "a" \'a\' \\n d\n');
});
