import { BerthError } from '../../errors/BerthError.js';

export interface PemBlock {
  type: string;
  body: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Every PEM block in a text, in order; headers inside a block (RFC 1421 style) are refused rather than guessed at. */
export function parsePem(text: string, what: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const type = match[1] as string;
    const body = (match[2] as string).replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new BerthError('KEY_INVALID', `${what}: the ${type} block is not base64`);
    blocks.push({ type, body: Buffer.from(body, 'base64') });
  }
  if (blocks.length === 0) throw new BerthError('KEY_INVALID', `${what}: no PEM block found`);
  return blocks;
}

export function formatPem(type: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}
