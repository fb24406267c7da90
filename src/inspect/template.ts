import { BerthError } from '../errors/BerthError.js';

/**
 * A small, safe subset of Go templates as skopeo users write them for
 * `--format`: `{{.Field}}`, `{{.Field.Sub}}`, `{{json .Field}}`,
 * `{{index .Map "key"}}`, `{{range .List}}...{{.}}...{{end}}`, `{{"\n"}}`.
 * Anything else is refused rather than printed wrong.
 */
export function renderTemplate(template: string, data: unknown): string {
  const tokens = tokenize(template);
  const [out, rest] = renderTokens(tokens, 0, data, false);
  if (rest !== tokens.length) throw bad('unexpected {{end}}');
  return out.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
}

type Token = { text: string } | { action: string };

function bad(why: string): BerthError {
  return new BerthError('USAGE', `--format: ${why}`);
}

function tokenize(template: string): Token[] {
  const tokens: Token[] = [];
  let rest = template;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    if (open < 0) {
      tokens.push({ text: rest });
      break;
    }
    if (open > 0) tokens.push({ text: rest.slice(0, open) });
    const close = rest.indexOf('}}', open);
    if (close < 0) throw bad('unclosed {{');
    tokens.push({ action: rest.slice(open + 2, close).replace(/^-\s*|\s*-$/g, '').trim() });
    rest = rest.slice(close + 2);
  }
  return tokens;
}

function renderTokens(tokens: Token[], start: number, dot: unknown, inRange: boolean): [string, number] {
  let out = '';
  let i = start;
  while (i < tokens.length) {
    const token = tokens[i]!;
    if ('text' in token) {
      out += token.text;
      i++;
      continue;
    }
    const action = token.action;
    if (action === 'end') {
      if (!inRange) throw bad('{{end}} without {{range}}');
      return [out, i];
    }
    if (action.startsWith('range ')) {
      const list = evaluate(action.slice(6).trim(), dot);
      const items = Array.isArray(list) ? list : list && typeof list === 'object' ? Object.values(list) : [];
      let bodyEnd = i + 1;
      if (items.length === 0) {
        [, bodyEnd] = renderTokens(tokens, i + 1, undefined, true);
      }
      for (const item of items) {
        let text: string;
        [text, bodyEnd] = renderTokens(tokens, i + 1, item, true);
        out += text;
      }
      if (bodyEnd >= tokens.length) throw bad('{{range}} without {{end}}');
      i = bodyEnd + 1;
      continue;
    }
    out += format(evaluate(action, dot));
    i++;
  }
  if (inRange) throw bad('{{range}} without {{end}}');
  return [out, i];
}

function evaluate(expression: string, dot: unknown): unknown {
  const parts = expression.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
  if (parts.length === 0) throw bad('empty action {{}}');
  const [head, ...args] = parts;
  if (head === 'json') {
    if (args.length !== 1) throw bad('json takes one argument');
    return { __raw: JSON.stringify(value(args[0]!, dot)) };
  }
  if (head === 'index') {
    if (args.length !== 2) throw bad('index takes a map and a key');
    const map = value(args[0]!, dot) as Record<string, unknown> | undefined;
    const key = value(args[1]!, dot);
    return map && typeof map === 'object' ? map[String(key)] : undefined;
  }
  if (args.length > 0) throw bad(`unsupported function "${head}"`);
  return value(head!, dot);
}

function value(term: string, dot: unknown): unknown {
  if (term.startsWith('"')) return JSON.parse(term) as string;
  if (term === '.') return dot;
  if (!term.startsWith('.')) throw bad(`unsupported term "${term}"`);
  let current: unknown = dot;
  for (const field of term.slice(1).split('.')) {
    if (current === null || current === undefined || typeof current !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, field)) throw bad(`no field "${field}"`);
    current = (current as Record<string, unknown>)[field];
  }
  return current;
}

function format(v: unknown): string {
  if (v && typeof v === 'object' && '__raw' in v) return String((v as { __raw: string }).__raw);
  if (v === undefined || v === null) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(format).join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.entries(v).map(([k, x]) => `${k}:${format(x)}`).join(' ')}]`;
  return String(v);
}
