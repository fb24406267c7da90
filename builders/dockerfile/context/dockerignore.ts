import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BerthError } from '../../../src/errors/BerthError.js';
import { cleanSlashPath } from './goPath.js';

/**
 * .dockerignore with Docker's semantics (moby/patternmatcher): each pattern is a Go filepath.Match glob where `**`
 * also crosses directories, a path is excluded when the last pattern that matches it (or one of its parents) says so,
 * and `!pattern` re-includes. Patterns are cleaned (`./a` → `a`, `/a` → `a`) as Docker cleans them.
 */
export interface ContextMatcher {
  /** The patterns after reading and cleaning, `!` kept; empty when nothing is ignored. */
  readonly patterns: readonly string[];
  /** Whether the context path (slash-separated, relative to the context root) is left out of the build context. */
  ignores(relPath: string): boolean;
  /**
   * For an ignored directory: whether an exception pattern could re-include something below it, so a walk must still
   * descend (Docker's rule: an exception pattern that starts with the directory's path).
   */
  mayReinclude(relDir: string): boolean;
}

type MatchKind = 'exact' | 'prefix' | 'suffix' | 'regexp';

interface Pattern {
  text: string;
  exclusion: boolean;
  kind: MatchKind;
  regexp?: RegExp;
}

const regexpSpecials = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/** Turn one cleaned pattern into a matcher as patternmatcher does (exact, prefix for `a/**`, suffix for `**` + literal, else a regexp). */
function compilePattern(text: string, exclusion: boolean, source: string): Pattern {
  const chars = Array.from(text);
  let re = '^';
  let kind: MatchKind = 'exact';
  let inClass = false;
  for (let i = 0; i < chars.length; i++) {
    const first = i === 0;
    const ch = chars[i]!;
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;
        if (i + 1 >= chars.length) {
          if (kind === 'exact') kind = 'prefix';
          else {
            re += '.*';
            kind = 'regexp';
          }
        } else {
          re += '(.*/)?';
          kind = 'regexp';
        }
        // `**` as the very first thing: matched by suffix unless a later glob makes it a regexp.
        if (first) kind = 'suffix';
      } else {
        re += '[^/]*';
        kind = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      kind = 'regexp';
    } else if (regexpSpecials.has(ch)) {
      re += `\\${ch}`;
    } else if (ch === '\\') {
      if (i + 1 < chars.length) {
        const next = chars[++i]!;
        re += /[\p{L}\p{N}]/u.test(next) ? next : `\\${next}`;
      }
      else throw new BerthError('USAGE', `${source}: bad pattern ${JSON.stringify(text)}: trailing backslash`);
    } else if (ch === '[' || ch === ']') {
      if (ch === '[') inClass = true;
      else inClass = false;
      re += ch;
      kind = 'regexp';
    } else {
      re += ch;
    }
  }
  if (inClass) throw new BerthError('USAGE', `${source}: bad pattern ${JSON.stringify(text)}: unclosed [`);
  const pattern: Pattern = { text, exclusion, kind };
  if (kind === 'regexp') {
    try {
      pattern.regexp = new RegExp(`${re}$`, 'u');
    } catch {
      throw new BerthError('USAGE', `${source}: bad pattern ${JSON.stringify(text)}`);
    }
  }
  return pattern;
}

function patternMatches(p: Pattern, path: string): boolean {
  switch (p.kind) {
    case 'exact':
      return path === p.text;
    case 'prefix':
      return path.startsWith(p.text.slice(0, -2));
    case 'suffix': {
      const suffix = p.text.slice(2);
      if (path.endsWith(suffix)) return true;
      // `**/foo` also matches `foo` itself.
      return suffix.startsWith('/') && path === suffix.slice(1);
    }
    case 'regexp':
      return p.regexp!.test(path);
  }
}

/** Read .dockerignore text into cleaned patterns as Docker's ReadAll does (BOM, comments, blanks, `!`, leading `/`). */
export function readIgnorePatterns(text: string): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const line of lines) {
    let pattern = line.trim();
    if (pattern === '' || pattern.startsWith('#')) continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanSlashPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    out.push(invert ? `!${pattern}` : pattern);
  }
  return out;
}

export function createContextMatcher(patterns: readonly string[], source = '.dockerignore'): ContextMatcher {
  const compiled: Pattern[] = [];
  for (const raw of patterns) {
    let text = raw.trim();
    if (text === '') continue;
    text = cleanSlashPath(text);
    let exclusion = false;
    if (text.startsWith('!')) {
      if (text.length === 1) throw new BerthError('USAGE', `${source}: illegal exclusion pattern "!"`);
      exclusion = true;
      text = text.slice(1);
    }
    compiled.push(compilePattern(text, exclusion, source));
  }
  const hasExclusions = compiled.some((p) => p.exclusion);

  function ignores(relPath: string): boolean {
    const file = cleanSlashPath(relPath);
    const parent = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';
    const parentDirs = parent.split('/');
    let matched = false;
    for (const p of compiled) {
      // An include pattern cannot change an already ignored path, nor an exception an included one.
      if (p.exclusion !== matched) continue;
      let match = patternMatches(p, file);
      if (!match && parent !== '.') {
        for (let i = 1; i <= parentDirs.length && !match; i++) match = patternMatches(p, parentDirs.slice(0, i).join('/'));
      }
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  // Segment by segment: can the exception match the directory's path and then go on below it? Conservative (a `**`
  // or a glob may re-include), so a walk never skips a directory an exception reaches; `ignores` decides each path.
  const exceptions = compiled.filter((p) => p.exclusion).map((p) => p.text.split('/').map((part) => (part === '**' ? undefined : compilePattern(part, false, source))));

  function reachesBelow(parts: (Pattern | undefined)[], dirParts: string[]): boolean {
    let i = 0;
    for (const dirPart of dirParts) {
      if (i >= parts.length) return false;
      const part = parts[i]!;
      if (part === undefined) return true;
      if (!patternMatches(part, dirPart)) return false;
      i++;
    }
    return true;
  }

  function mayReinclude(relDir: string): boolean {
    if (!hasExclusions) return false;
    const dirParts = cleanSlashPath(relDir).split('/');
    return exceptions.some((parts) => reachesBelow(parts, dirParts));
  }

  return { patterns: [...patterns], ignores, mayReinclude };
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The context's ignore rules: `<Dockerfile>.dockerignore` beside the Dockerfile wins over the context's
 * `.dockerignore` (BuildKit's rule). `dockerfilePath` undefined (Dockerfile on stdin) reads only the context's file.
 */
export async function loadDockerignore(contextDir: string, dockerfilePath?: string): Promise<ContextMatcher> {
  const candidates: string[] = [];
  if (dockerfilePath !== undefined) candidates.push(join(dirname(dockerfilePath), `${basename(dockerfilePath)}.dockerignore`));
  candidates.push(join(contextDir, '.dockerignore'));
  for (const path of candidates) {
    const text = await readIfPresent(path);
    if (text !== undefined) return createContextMatcher(readIgnorePatterns(text), path);
  }
  return createContextMatcher([]);
}
