/**
 * Word expansion as BuildKit's shell lexer does it for the instructions the builder expands (FROM, COPY, ADD, ENV,
 * LABEL, ...): quotes removed, `$VAR`, `${VAR}` and the `:-` `-` `:+` `+` `:?` `?` forms (their words expanded in
 * turn), the escape character (`\` or the `# escape=` one) quoting the next character. RUN, CMD and ENTRYPOINT never
 * come here: their shell expands them at run time.
 */

/** A variable's value, or undefined when it is not set (which `${X-d}` tells apart from empty). */
export type Lookup = (name: string) => string | undefined;

export class ExpansionError extends Error {}

const specialParams = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

class WordScanner {
  private pos = 0;
  private readonly chars: string[];

  constructor(
    text: string,
    private readonly lookup: Lookup,
    private readonly escape: string,
    /** Heredoc bodies: only `$` expands; quotes and escapes are text. */
    private readonly raw = false,
  ) {
    this.chars = Array.from(text);
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }

  private next(): string | undefined {
    return this.chars[this.pos++];
  }

  /** Everything up to (not including) an unquoted character of `stop`, or to the end. Returns the text and the words it splits into. */
  process(stop?: string): { text: string; words: string[] } {
    let text = '';
    const words: string[] = [];
    let word = '';
    let inWord = false;
    const flush = () => {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    };
    while (this.peek() !== undefined) {
      const ch = this.peek()!;
      if (stop !== undefined && stop.includes(ch)) break;
      if (this.raw && ch !== '$') {
        this.next();
        text += ch;
        continue;
      }
      if (ch === "'") {
        const s = this.singleQuoted();
        text += s;
        word += s;
        inWord = true;
      } else if (ch === '"') {
        const s = this.doubleQuoted();
        text += s;
        word += s;
        inWord = true;
      } else if (ch === '$') {
        const s = this.dollar();
        text += s;
        // An unquoted expansion splits on whitespace (ProcessWords).
        const parts = s.split(/[ \t\r\n]+/);
        parts.forEach((part, i) => {
          if (i > 0) flush();
          if (part !== '') {
            word += part;
            inWord = true;
          }
        });
      } else {
        this.next();
        if (ch === this.escape) {
          const escaped = this.next();
          if (escaped === undefined) continue;
          text += escaped;
          word += escaped;
          inWord = true;
        } else if (/[ \t\r\n]/.test(ch)) {
          text += ch;
          flush();
        } else {
          text += ch;
          word += ch;
          inWord = true;
        }
      }
    }
    flush();
    return { text, words };
  }

  private singleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new ExpansionError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return out;
      out += ch;
    }
  }

  private doubleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new ExpansionError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      this.next();
      if (ch === this.escape) {
        const after = this.peek();
        if (after === undefined) continue;
        // Inside double quotes only ", $ and the escape character itself are escaped; other escapes stay as written.
        if (after === '"' || after === '$' || after === this.escape) {
          out += this.next();
          continue;
        }
      }
      out += ch;
    }
  }

  private name(): string {
    let name = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) return name;
      if (name === '' && /\p{Nd}/u.test(ch)) {
        while (this.peek() !== undefined && /\p{Nd}/u.test(this.peek()!)) name += this.next();
        return name;
      }
      if (name === '' && specialParams.has(ch)) return this.next()!;
      if (!/[\p{L}\p{Nd}_]/u.test(ch)) return name;
      name += this.next();
    }
  }

  /** `${X#pat}` `${X##pat}` `${X%pat}` `${X%%pat}`: the shortest or longest prefix or suffix matching a shell pattern removed. */
  private trimmed(name: string, op: '#' | '%'): string {
    const longest = this.peek() === op;
    if (longest) this.next();
    const pattern = globRegExp(this.process('}').text);
    if (this.next() !== '}') throw new ExpansionError("missing '}'");
    const value = this.lookup(name) ?? '';
    const whole = new RegExp(`^(?:${pattern})$`, 'su');
    const lengths = [...Array(value.length + 1).keys()];
    if (longest) lengths.reverse();
    for (const n of lengths) {
      if (op === '#' && whole.test(value.slice(0, n))) return value.slice(n);
      if (op === '%' && whole.test(value.slice(value.length - n))) return value.slice(0, value.length - n);
    }
    return value;
  }

  /** `${X/pat/repl}` (first match) and `${X//pat/repl}` (every match), the pattern a shell glob. */
  private replaced(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    const pattern = this.process('/}').text;
    let replacement = '';
    if (this.peek() === '/') {
      this.next();
      replacement = this.process('}').text;
    }
    if (this.next() !== '}') throw new ExpansionError("missing '}'");
    const value = this.lookup(name) ?? '';
    if (pattern === '') return value;
    return value.replace(new RegExp(globRegExp(pattern), all ? 'gsu' : 'su'), () => replacement);
  }

  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      return this.lookup(name) ?? '';
    }
    this.next();
    const name = this.name();
    const ch = this.next();
    if (ch === undefined) throw new ExpansionError("missing '}'");
    if (ch === '}') return this.lookup(name) ?? '';
    if (name === '') throw new ExpansionError(`bad substitution`);
    if (ch === '#' || ch === '%') return this.trimmed(name, ch);
    if (ch === '/') return this.replaced(name);
    let modifier = ch;
    if (ch === ':') {
      const op = this.next();
      if (op === undefined || !'-+?'.includes(op)) throw new ExpansionError(`unsupported modifier (:${op ?? ''}) in substitution`);
      modifier = `:${op}`;
    } else if (!'-+?'.includes(ch)) {
      throw new ExpansionError(`unsupported modifier (${ch}) in substitution`);
    }
    const word = this.process('}').text;
    if (this.next() !== '}') throw new ExpansionError("missing '}'");
    const value = this.lookup(name);
    const set = value !== undefined;
    const nonEmpty = set && value !== '';
    switch (modifier) {
      case '-':
        return set ? value! : word;
      case ':-':
        return nonEmpty ? value! : word;
      case '+':
        return set ? word : '';
      case ':+':
        return nonEmpty ? word : '';
      case '?':
        if (!set) throw new ExpansionError(`${name}: ${word || 'is not allowed to be unset'}`);
        return value!;
      default:
        if (!nonEmpty) throw new ExpansionError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value!;
    }
  }
}

/** A shell pattern (`*`, `?`, `[...]`, backslash-escaped characters) as a regular expression source. */
function globRegExp(pattern: string): string {
  let out = '';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else if (ch === '\\' && i + 1 < chars.length) out += escapeRegExp(chars[++i]!);
    else if (ch === '[') {
      const close = chars.indexOf(']', i + 2);
      if (close < 0) {
        out += '\\[';
        continue;
      }
      let body = chars.slice(i + 1, close).join('');
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      out += `[${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = close;
    } else out += escapeRegExp(ch);
  }
  return out;
}

function escapeRegExp(ch: string): string {
  return /[.*+?^${}()|[\]\\/-]/.test(ch) ? `\\${ch}` : ch;
}

/** One word: quotes and escapes removed, variables replaced (BuildKit's ProcessWord). */
export function expandWord(text: string, lookup: Lookup, escape = '\\'): string {
  return new WordScanner(text, lookup, escape).process().text;
}

/** Several words: like expandWord, then split on unquoted whitespace, including whitespace an expansion brought (ProcessWords). */
export function expandWords(text: string, lookup: Lookup, escape = '\\'): string[] {
  return new WordScanner(text, lookup, escape).process().words;
}

/** A heredoc body with an unquoted delimiter: variables expand, everything else stays as written. */
export function expandHeredoc(text: string, lookup: Lookup): string {
  return new WordScanner(text, lookup, '\\', true).process().text;
}
