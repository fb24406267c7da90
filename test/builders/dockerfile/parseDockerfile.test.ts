import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDockerfile, splitFlags } from '../../../builders/dockerfile/parse/parseDockerfile.js';

function shape(text: string) {
  return parseDockerfile(text, 'Dockerfile').instructions.map((i) => [i.keyword, i.line, i.args, ...i.heredocs.map((h) => `${h.name}:${JSON.stringify(h.content)}:${h.expand}`)]);
}

const cases: { name: string; text: string; expected: unknown[] }[] = [
  { name: 'a quoted <<EOF is no heredoc', text: 'FROM a\nRUN echo "<<EOF"\nRUN two\n', expected: [['FROM', 1, 'a'], ['RUN', 2, 'echo "<<EOF"'], ['RUN', 3, 'two']] },
  { name: 'a heredoc body line that looks like an instruction is body', text: 'FROM a\nRUN <<EOF\nRUN inside\nFROM x\nEOF\nENV X=1\n', expected: [['FROM', 1, 'a'], ['RUN', 2, '<<EOF', 'EOF:"RUN inside\\nFROM x\\n":true'], ['ENV', 6, 'X=1']] },
  { name: '<<- strips tabs from body and terminator', text: 'FROM a\nRUN <<-EOF\n\techo\n\t\tdeeper\n\tEOF\nENV X=1\n', expected: [['FROM', 1, 'a'], ['RUN', 2, '<<-EOF', 'EOF:"echo\\ndeeper\\n":true'], ['ENV', 6, 'X=1']] },
  { name: 'quoted delimiters do not expand', text: "FROM a\nCOPY <<'A' <<\"B\" /d/\na\nA\nb\nB\n", expected: [['FROM', 1, 'a'], ['COPY', 2, '<<\'A\' <<"B" /d/', 'A:"a\\n":false', 'B:"b\\n":false']] },
  { name: 'a heredoc after a continuation starts after the joined line', text: 'FROM a\nRUN cat <<EOF \\\n  && echo more\nbody\nEOF\nENV X=1\n', expected: [['FROM', 1, 'a'], ['RUN', 2, 'cat <<EOF   && echo more', 'EOF:"body\\n":true'], ['ENV', 6, 'X=1']] },
  { name: 'an empty heredoc', text: 'FROM a\nRUN <<EOF\nEOF\n', expected: [['FROM', 1, 'a'], ['RUN', 2, '<<EOF', 'EOF:"":true']] },
  { name: 'CRLF lines and a byte-order mark', text: '\uFEFFFROM a\r\nRUN <<EOF\r\nx\r\nEOF\r\nENV X=1\r\n', expected: [['FROM', 1, 'a'], ['RUN', 2, '<<EOF', 'EOF:"x\\n":true'], ['ENV', 5, 'X=1']] },
  { name: 'lower-case keywords and surrounding spaces', text: 'from a\n  run   lower  \n', expected: [['FROM', 1, 'a'], ['RUN', 2, 'lower']] },
  { name: 'a trailing continuation at the end of the file', text: 'FROM a\nRUN echo a \\\n\n', expected: [['FROM', 1, 'a'], ['RUN', 2, 'echo a']] },
  { name: 'heredocs are only read for RUN, COPY and ADD', text: 'FROM a\nENV X=<<EOF\nLABEL y=1\n', expected: [['FROM', 1, 'a'], ['ENV', 2, 'X=<<EOF'], ['LABEL', 3, 'y=1']] },
  { name: 'a # after the start of a line is not a comment', text: 'FROM a\nRUN echo # kept\n', expected: [['FROM', 1, 'a'], ['RUN', 2, 'echo # kept']] },
];

for (const c of cases) {
  test(`parse: ${c.name}`, () => {
    assert.deepEqual(shape(c.text), c.expected);
  });
}

test('parse: flags end at the first word that is not one; quotes in a flag value are removed; -- ends the flags', () => {
  assert.deepEqual(splitFlags('--mount=type=cache,target=/x --network=none  echo --not-a-flag'), {
    flags: [{ name: 'mount', value: 'type=cache,target=/x' }, { name: 'network', value: 'none' }], rest: 'echo --not-a-flag',
  });
  assert.deepEqual(splitFlags('--link --chown="app:app" a b'), { flags: [{ name: 'link', value: undefined }, { name: 'chown', value: 'app:app' }], rest: 'a b' });
  assert.deepEqual(splitFlags('-- --literal x'), { flags: [], rest: '--literal x' });
});

test('parse: directives are read only at the top; the escape directive switches continuation', () => {
  assert.equal(parseDockerfile('# syntax=docker/dockerfile:1\n# escape=`\nFROM a\n', 'D').escape, '`');
  assert.equal(parseDockerfile('FROM a\n# escape=`\n', 'D').escape, '\\');
  assert.equal(parseDockerfile('# a comment\n# escape=`\nFROM a\n', 'D').escape, '\\');
});
