import assert from 'node:assert/strict';
import { join } from 'node:path';
import { buildLayout, type LayoutImage } from './ociImage.js';
import { berth } from './runCli.js';

/** The passphrase of the keys signedLayout makes, in the environment cosign and berth read it from. */
export const KEY_PASSWORD = { COSIGN_PASSWORD: 'pw' };

/**
 * An OCI layout under DIR/src holding one small image tagged v1, signed with a new cosign key (DIR/k.key,
 * DIR/k.pub) by `berth sign` as `identity`: the signature is a `.sig` manifest in the layout.
 */
export async function signedLayout(dir: string, identity: string): Promise<LayoutImage> {
  const image = await buildLayout(join(dir, 'src'), 'v1', { layers: [[{ name: 'a.txt', content: 'signed' }]], cmd: ['/a'] });
  assert.equal(berth(['generate-key', '--output-prefix', join(dir, 'k')], { env: KEY_PASSWORD }).status, 0);
  const signed = berth(['sign', '--key', join(dir, 'k.key'), '--identity', identity, `oci:${image.dir}:v1`], { env: KEY_PASSWORD });
  assert.equal(signed.status, 0, signed.stderr);
  return image;
}
