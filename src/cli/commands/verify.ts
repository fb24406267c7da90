import { readFileSync } from 'node:fs';
import { BerthError } from '../../errors/BerthError.js';
import { cosignVerify } from '../../sign/cosign/cosignSignatures.js';
import { identityRuleFromFlag } from '../../sign/identity.js';
import { loadPublicKeyFile } from '../../sign/keys/keys.js';
import { parseAnnotationFlags } from '../../sign/payload.js';
import { loadRegistriesD } from '../../sign/policy/registriesD.js';
import { lookasideLocation, simpleVerify } from '../../sign/simple/simpleSignatures.js';
import { registriesDirFlag, registryOptionsFromFlags, REGISTRY_FLAG_NAMES } from '../signingFlags.js';
import { policySubjectForTarget, resolveTarget } from '../../sign/target.js';
import { evaluatePolicy } from '../../sign/policy/evaluatePolicy.js';
import { defaultPolicyPath, loadPolicy } from '../../sign/policy/policy.js';
import { flagList, parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';

const flagSpec: FlagSpec = { string: ['key', 'gpg-public-key', 'check-identity', 'identity', 'annotation', 'registries.d', 'policy', 'format', ...REGISTRY_FLAG_NAMES], boolean: ['policy-default', 'quiet'], alias: { a: 'annotation', q: 'quiet' } };

export const verifyCommand: Command = {
  name: 'verify',
  flags: flagSpec,
  usage: `
Usage: berth verify --key KEY.pub [OPTIONS] IMAGE
       berth verify --gpg-public-key FILE [OPTIONS] docker://IMAGE
       berth verify --policy FILE [OPTIONS] IMAGE

IMAGE is docker://HOST/REPO[:TAG|@DIGEST] or oci:DIR[:TAG].

With --key, look for cosign signatures of the image's manifest digest (the
sha256-<hex>.sig tag and OCI 1.1 referrers), and accept when one verifies with
the key, signs exactly this digest, and names an acceptable identity. With
--gpg-public-key, check the OpenPGP simple signatures in the image's
registries.d lookaside storage the same way. The verified payloads are
printed as JSON; otherwise the exit status is non-zero with every reason.

With --policy (or --policy-default), evaluate the image against a
containers-policy.json instead (what copy and sync enforce) and print the
decision as JSON.

Options:
  -q, --quiet                 print nothing: the exit status says it
      --format json           print the image, digest and verified payloads as one JSON object
      --key FILE              public key (PEM; ECDSA, Ed25519, RSA, or a certificate); repeatable
      --gpg-public-key FILE   OpenPGP public key (armored or binary); repeatable
      --check-identity MODE   exact | repository | none (default: repository when the image or
                              --identity names one, else none)
      --identity REF          the identity to expect instead of the image's own reference
  -a, --annotation KEY=VALUE  require this annotation in the payload (repeatable)
      --registries.d DIR      registries.d directory for lookaside storage
      --policy FILE           evaluate this containers-policy.json
      --policy-default        evaluate the default policy (~/.config/containers/policy.json or /etc/containers/policy.json)
      --tls-verify=false      allow plain HTTP and unverified TLS for the registry
      --creds USER:PASS, --authfile FILE, --registry-token TOKEN   registry credentials
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'verify');
    const args = flags._.map(String);
    requireArgs(args, 1, 'verify', 'IMAGE');
    const quiet = flags.quiet === true;
    const format = flags.format as string | undefined;
    if (format !== undefined && format !== 'json') throw new BerthError('USAGE', `verify: unsupported --format "${format}" (json)`);
    const keyFiles = flagList(flags.key);
    const gpgFiles = flagList(flags['gpg-public-key']);
    const usePolicy = flags.policy !== undefined || flags['policy-default'] === true;
    if (usePolicy) {
      if (keyFiles.length > 0 || gpgFiles.length > 0) throw new BerthError('USAGE', 'verify: --policy takes its keys from the policy file; do not add --key or --gpg-public-key');
      const target = await resolveTarget(args[0] as string, { registry: registryOptionsFromFlags(flags) });
      const policy = loadPolicy((flags.policy as string | undefined) ?? defaultPolicyPath());
      const decision = await evaluatePolicy(policy, policySubjectForTarget(target), loadRegistriesD(registriesDirFlag(flags)));
      if (!quiet) process.stderr.write(`Accepted ${target.input} (${target.manifest.digest}) by ${policy.source}\n`);
      if (!quiet) process.stdout.write(`${JSON.stringify({ image: target.input, digest: target.manifest.digest, scope: decision.scope, satisfied: decision.satisfied }, null, format === 'json' ? 2 : undefined)}\n`);
      return 0;
    }
    if (keyFiles.length === 0 && gpgFiles.length === 0) throw new BerthError('USAGE', 'verify: give --key, --gpg-public-key or --policy');
    if (keyFiles.length > 0 && gpgFiles.length > 0) throw new BerthError('USAGE', 'verify: --key and --gpg-public-key verify different signature kinds; give one');
    const identity = flags.identity as string | undefined;
    const target = await resolveTarget(args[0] as string, { registry: registryOptionsFromFlags(flags) });
    const mode = (flags['check-identity'] as string | undefined) ?? (target.dockerReference || identity ? 'repository' : 'none');
    const rule = identityRuleFromFlag(mode, identity);
    const digest = target.manifest.digest;

    let payloads: unknown[];
    if (keyFiles.length > 0) {
      const keys = keyFiles.map(loadPublicKeyFile);
      const verified = await cosignVerify(target.store, digest, {
        keys,
        identity: rule,
        ...(target.dockerReference ? { imageReference: target.dockerReference } : {}),
        annotations: parseAnnotationFlags(flagList(flags.annotation)),
      });
      payloads = verified.map((v) => v.payload);
    } else {
      const trustedKeys = gpgFiles.map((f) => readKeyFile(f));
      const location = lookasideLocation(loadRegistriesD(registriesDirFlag(flags)), target.dockerReference, false);
      const verified = await simpleVerify(location, digest, { trustedKeys, identity: rule, ...(target.dockerReference ? { imageReference: target.dockerReference } : {}) });
      payloads = verified.map((v) => v.payload);
    }
    if (quiet) return 0;
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify({ image: target.input, digest, identityCheck: mode, signatures: payloads }, null, 2)}\n`);
      return 0;
    }
    process.stderr.write(`Verified ${payloads.length} signature(s) of ${target.input} (${digest}); identity check: ${mode}\n`);
    process.stdout.write(`${JSON.stringify(payloads)}\n`);
    return 0;
  },
};

function readKeyFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BerthError(code === 'ENOENT' ? 'NOT_FOUND' : 'KEY_INVALID', `cannot read key ${path}: ${code ?? (err as Error).message}`);
  }
}
