import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { copyImage } from '../../src/copy/copyImage.js';
import type { Digest } from '../../src/oci/digest.js';
import { carrySignatures } from '../../src/sign/carrySignatures.js';
import { evaluatePolicy, policySubjectFor } from '../../src/sign/policy/evaluatePolicy.js';
import { loadPolicy } from '../../src/sign/policy/policy.js';
import { loadRegistriesD } from '../../src/sign/policy/registriesD.js';
import '../../src/transports/allTransports.js';
import { OciLayoutStore } from '../../src/transports/oci-layout/ociLayoutStore.js';
import { parseImageReference, registerTransport } from '../../src/transports/transportRegistry.js';
import type { SignatureStorage } from '../../src/transports/signatures.js';
import type { ImageReference, Transport } from '../../src/transports/types.js';
import { tempDir } from '../support/peers.js';
import { signedLayout } from '../support/signedLayout.js';

/**
 * A transport that src/sign has never heard of: images in an OCI layout under another name, with policy
 * scopes of its own. Offering signatureStorage is all it takes for signatures to be carried into it and
 * for the trust policy to judge it.
 */
const vaultTransport: Transport = {
  name: 'test-vault',
  parse(within: string): ImageReference {
    const layout = () => parseImageReference(`oci:${within}:img`);
    return {
      transport: vaultTransport,
      within,
      toString: () => `test-vault:${within}`,
      newSource: (options) => layout().newSource(options),
      newDestination: (options) => layout().newDestination(options),
      async signatureStorage(): Promise<SignatureStorage> {
        const artifacts = new OciLayoutStore(within);
        return { transport: 'test-vault', description: `test-vault:${within}`, policyScopes: [`vault/${within}`], artifacts };
      },
    };
  },
};
registerTransport(vaultTransport);

test('a new transport offering signatureStorage gets signatures carried into it and judged by the policy, with no edit in src/sign', async (t) => {
  const dir = tempDir(t, 'berth-sigstorage-');
  const image = await signedLayout(dir, 'registry.example/app:v1');

  const vault = join(dir, 'vault');
  const copied = await copyImage(parseImageReference(`oci:${image.dir}:v1`), parseImageReference(`test-vault:${vault}`), { afterCommit: carrySignatures({ registriesD: loadRegistriesD('/nonexistent') }) });
  const index = JSON.parse(readFileSync(join(vault, 'index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
  const tags = index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).sort();
  assert.deepEqual(tags, ['img', `${copied.manifestDigest.replace(':', '-')}.sig`], 'the .sig manifest was carried');

  const policyFile = join(dir, 'policy.json');
  writeFileSync(
    policyFile,
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: { 'test-vault': { [`vault/${vault}`]: [{ type: 'sigstoreSigned', keyPath: join(dir, 'k.pub'), signedIdentity: { type: 'exactReference', dockerReference: 'registry.example/app:v1' } }] } },
    }),
  );
  const subject = await policySubjectFor(parseImageReference(`test-vault:${vault}`), copied.manifestDigest as Digest);
  const decision = await evaluatePolicy(loadPolicy(policyFile), subject, loadRegistriesD('/nonexistent'));
  assert.equal(decision.scope, `vault/${vault}`);
  assert.match(decision.satisfied[0] as string, /sigstoreSigned: 1 signature/);
});
