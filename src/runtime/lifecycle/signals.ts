import { constants } from 'node:os';
import { BerthError } from '../../errors/BerthError.js';

/** "TERM", "SIGTERM", "15" → 15, as runc accepts them. */
export function parseSignal(value: string | undefined): number {
  const text = (value ?? 'SIGTERM').trim();
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > 64) throw new BerthError('USAGE', `invalid signal "${text}"`);
    return n;
  }
  const name = text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
  const n = (constants.signals as Record<string, number>)[name];
  if (n === undefined) throw new BerthError('USAGE', `unknown signal "${text}"`);
  return n;
}
