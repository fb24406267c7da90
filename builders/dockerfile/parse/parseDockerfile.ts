import { DockerfileParser } from 'dockerfile-ast';
import { BerthError } from '../../../src/errors/BerthError.js';

/**
 * A Dockerfile read into instructions, before any expansion: dockerfile-ast reads the parser directives (`# escape`,
 * `# syntax`, `# check`); this file splits the lines into instructions, joins continuation lines (dropping comment
 * and blank lines inside them, as BuildKit does), splits off leading `--flags` and reads heredoc bodies for RUN, COPY
 * and ADD.
 */
export interface ParsedDockerfile {
  file: string;
  /** The escape character (`# escape=` directive, default backslash). */
  escape: string;
  instructions: ParsedInstruction[];
}

export interface Heredoc {
  name: string;
  /** Body lines joined, ending with a newline; with `<<-` leading tabs are already removed. */
  content: string;
  /** Unquoted delimiter: the builder expands variables in the body (COPY/ADD). */
  expand: boolean;
  /** The body and terminator exactly as written (for handing a RUN's heredocs to its shell). */
  raw: string;
}

export interface ParsedInstruction {
  /** Upper-case keyword. */
  keyword: string;
  /** 1-based line of the keyword. */
  line: number;
  /** Leading `--name[=value]` flags in order (value undefined for a bare `--name`). */
  flags: { name: string; value: string | undefined }[];
  /** The logical line after the keyword and the flags, continuations joined. */
  args: string;
  /** The logical line after the keyword, flags included (what buildah records in history). */
  original: string;
  heredocs: Heredoc[];
}

export const knownInstructions = new Set([
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER', 'ONBUILD',
  'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
]);

const heredocInstructions = new Set(['RUN', 'COPY', 'ADD']);

/** `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`, `3<<EOF` as a whole word. */
const heredocWord = /^\d*<<(-?)(["']?)([A-Za-z0-9_.-]+)\2$/;

export function syntaxError(file: string, line: number, problem: string): BerthError {
  return new BerthError('DOCKERFILE_INVALID', `${file}:${line}: ${problem}`);
}

/** Split leading flags off an instruction's argument text; a flag ends at unquoted whitespace. */
export function splitFlags(text: string): { flags: ParsedInstruction['flags']; rest: string } {
  const flags: ParsedInstruction['flags'] = [];
  let rest = text.trimStart();
  while (rest.startsWith('--')) {
    let i = 0;
    let quote = '';
    let word = '';
    for (; i < rest.length; i++) {
      const ch = rest[i]!;
      if (quote) {
        if (ch === quote) quote = '';
        else word += ch;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (/\s/.test(ch)) break;
      else word += ch;
    }
    // `--` alone ends the flags, as in getopt.
    if (word === '--') {
      rest = rest.slice(i).trimStart();
      break;
    }
    const eq = word.indexOf('=');
    flags.push(eq < 0 ? { name: word.slice(2), value: undefined } : { name: word.slice(2, eq), value: word.slice(eq + 1) });
    rest = rest.slice(i).trimStart();
  }
  return { flags, rest };
}

/** Words of a shell-form line split on whitespace outside quotes, quotes kept (BuildKit's parseWords). */
export function splitQuotedWords(text: string, escape: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (!quote && /\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    word += ch;
    if (ch === escape && i + 1 < text.length && quote !== "'") {
      word += text[++i];
      continue;
    }
    if (quote && ch === quote) quote = '';
    else if (!quote && (ch === '"' || ch === "'")) quote = ch;
  }
  if (inWord) words.push(word);
  return words;
}

function isContinued(line: string, escape: string): { continued: boolean; text: string } {
  const trimmed = line.replace(/[ \t]+$/, '');
  if (trimmed.endsWith(escape)) return { continued: true, text: trimmed.slice(0, -escape.length) };
  return { continued: false, text: line };
}

function readHeredocs(
  file: string,
  keywordLine: number,
  lines: string[],
  from: number,
  words: string[],
): { heredocs: Heredoc[]; next: number } {
  const heredocs: Heredoc[] = [];
  let index = from;
  for (const word of words) {
    const m = heredocWord.exec(word);
    if (!m) continue;
    const chomp = m[1] === '-';
    const name = m[3]!;
    const body: string[] = [];
    const raw: string[] = [];
    for (;;) {
      if (index >= lines.length) throw syntaxError(file, keywordLine, `unterminated heredoc ${name}`);
      const line = lines[index++]!;
      raw.push(line);
      const text = chomp ? line.replace(/^\t+/, '') : line;
      if (text === name) break;
      body.push(text);
    }
    heredocs.push({ name, content: body.map((l) => `${l}\n`).join(''), expand: m[2] === '', raw: raw.join('\n') });
  }
  return { heredocs, next: index };
}

export function parseDockerfile(text: string, file: string): ParsedDockerfile {
  const ast = DockerfileParser.parse(text);
  const escape = ast.getEscapeCharacter();
  for (const directive of ast.getDirectives()) {
    const value = directive.getValue();
    if (directive.getName().toLowerCase() === 'escape' && value !== '\\' && value !== '`') {
      throw syntaxError(file, directive.getRange().start.line + 1, `invalid escape token '${value}' does not match \` or \\`);
    }
  }
  // Instruction boundaries are found here, not taken from dockerfile-ast: where a heredoc ends decides where the next
  // instruction starts, and only the reader of the heredoc knows that.
  const lines = text.replace(/^\uFEFF/, '').split('\n').map((l) => l.replace(/\r$/, ''));
  const blankOrComment = /^\s*(#.*)?$/;
  const instructions: ParsedInstruction[] = [];
  let index = 0;
  while (index < lines.length) {
    if (blankOrComment.test(lines[index]!)) {
      index++;
      continue;
    }
    const line = index + 1;
    let logical = '';
    for (;;) {
      const { continued, text: part } = isContinued(lines[index++]!, escape);
      logical += part;
      if (!continued) break;
      // Comment and blank lines inside a continuation are dropped; the instruction goes on after them.
      while (index < lines.length && blankOrComment.test(lines[index]!)) index++;
      if (index >= lines.length) break;
    }
    const trimmed = logical.trimStart();
    const written = /^\S+/.exec(trimmed)![0];
    const keyword = written.toUpperCase();
    if (!knownInstructions.has(keyword)) throw syntaxError(file, line, `unknown instruction ${written}`);
    const original = trimmed.slice(written.length).trim();
    const { flags, rest } = splitFlags(original);
    let heredocs: Heredoc[] = [];
    if (heredocInstructions.has(keyword) && rest.includes('<<')) {
      const read = readHeredocs(file, line, lines, index, splitQuotedWords(rest, escape));
      heredocs = read.heredocs;
      index = read.next;
    }
    instructions.push({ keyword, line, flags, args: rest, original, heredocs });
  }
  return { file, escape, instructions };
}
