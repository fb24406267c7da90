import { BerthError } from '../../errors/BerthError.js';
import { formatDockerReference, parseDockerReference } from '../../reference/dockerReference.js';
import type { StorageMode } from '../../sign/cosign/attachments.js';
import { cosignSign } from '../../sign/cosign/cosignSignatures.js';
import { loadPrivateKeyFile } from '../../sign/keys/keys.js';
import { parseAnnotationFlags } from '../../sign/payload.js';
import { loadRegistriesD } from '../../sign/policy/registriesD.js';
import { withSecretKeyFile } from '../../sign/simple/gpg.js';
import { lookasideLocation, simpleSign } from '../../sign/simple/simpleSignatures.js';
import { registriesDirFlag, registryOptionsFromFlags, REGISTRY_FLAG_NAMES } from '../signingFlags.js';
import { digestsToSign, resolveTarget, type SignTarget } from '../../sign/target.js';
import { flagList, parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';

const flagSpec: FlagSpec = {
  string: ['key', 'passphrase-file', 'annotation', 'identity', 'registry-referrers-mode', 'sign-by-gpg', 'gpg-key', 'registries.d', 'format', ...REGISTRY_FLAG_NAMES],
  boolean: ['recursive', 'quiet'],
  alias: { a: 'annotation', r: 'recursive', q: 'quiet' },
};

export const signCommand: Command = {
  name: 'sign',
  flags: flagSpec,
  usage: `
Usage: berth sign --key KEY [OPTIONS] IMAGE
       berth sign --sign-by-gpg FINGERPRINT | --gpg-key FILE [OPTIONS] docker://IMAGE

IMAGE is docker://HOST/REPO[:TAG|@DIGEST] or oci:DIR[:TAG].

With --key, sign the image's manifest digest the way cosign does (simple
signing payload, signature annotation) and attach it: as the tag
sha256-<hex>.sig (default, appending to signatures already there) or as an
OCI 1.1 referrer (--registry-referrers-mode oci-1-1).

With --sign-by-gpg / --gpg-key, make a containers simple signature (OpenPGP,
as skopeo --sign-by does) and store it in the lookaside storage registries.d
names for the image (lookaside-staging when set).

Options:
  -q, --quiet                 print nothing on success
      --key FILE              cosign-format or PKCS#8 PEM private key (ECDSA, Ed25519, RSA)
      --passphrase-file FILE  passphrase for the key (else $COSIGN_PASSWORD / $BERTH_PASSWORD / prompt)
  -a, --annotation KEY=VALUE  add to the payload's "optional" section (repeatable)
      --identity REF          docker reference written into the signature (default: the image's;
                              required for oci: layouts, which carry no registry name)
      --registry-referrers-mode legacy|oci-1-1   where cosign signatures are stored (default legacy)
  -r, --recursive             also sign every image of an index
      --sign-by-gpg FPR       OpenPGP key (fingerprint or id) in the default GnuPG keyring
      --gpg-key FILE          OpenPGP secret key file to sign with (imported into a temporary keyring)
      --registries.d DIR      registries.d directory (default: ~/.config/containers/registries.d or /etc/containers/registries.d)
      --tls-verify=false      allow plain HTTP and unverified TLS for the registry
      --creds USER:PASS, --authfile FILE, --registry-token TOKEN   registry credentials
      --format json           print what was signed as JSON
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'sign');
    const args = flags._.map(String);
    requireArgs(args, 1, 'sign', 'IMAGE');
    const methods = ['key', 'sign-by-gpg', 'gpg-key'].filter((m) => flags[m] !== undefined);
    if (methods.length !== 1) throw new BerthError('USAGE', 'sign: give exactly one of --key, --sign-by-gpg, --gpg-key');
    const mode = (flags['registry-referrers-mode'] as string | undefined) ?? 'legacy';
    if (mode !== 'legacy' && mode !== 'oci-1-1') throw new BerthError('USAGE', `sign: --registry-referrers-mode must be legacy or oci-1-1, not "${mode}"`);
    const format = flags.format as string | undefined;
    if (format !== undefined && format !== 'json') throw new BerthError('USAGE', `sign: unsupported --format "${format}" (json)`);
    const annotations = parseAnnotationFlags(flagList(flags.annotation));

    const target = await resolveTarget(args[0] as string, { registry: registryOptionsFromFlags(flags) });
    const identity = signedIdentity(target, flags.identity as string | undefined);
    const subjects = digestsToSign(target.manifest, flags.recursive === true);
    const results: { digest: string; added: boolean }[] = [];

    if (flags.key !== undefined) {
      const key = await loadPrivateKeyFile(String(flags.key), { passphraseFile: flags['passphrase-file'] as string | undefined });
      for (const subject of subjects) {
        const result = await cosignSign(target.store, subject, { key, identity, annotations, mode: mode as StorageMode });
        results.push({ digest: result.digest, added: result.added });
      }
    } else {
      const location = lookasideLocation(loadRegistriesD(registriesDirFlag(flags)), target.dockerReference, true);
      const signAll = async (keyId: string, home?: string): Promise<void> => {
        for (const subject of subjects) {
          const added = await simpleSign(location, subject.digest, identity, { keyId, ...(home ? { home } : {}), ...(flags['passphrase-file'] ? { passphraseFile: String(flags['passphrase-file']) } : {}) }, annotations);
          results.push({ digest: subject.digest, added });
        }
      };
      if (flags['gpg-key'] !== undefined) await withSecretKeyFile(String(flags['gpg-key']), (home, fingerprint) => signAll(fingerprint, home));
      else await signAll(String(flags['sign-by-gpg']));
    }
    if (format === 'json') process.stdout.write(`${JSON.stringify({ image: target.input, identity, signed: results }, null, 2)}\n`);
    else if (!flags.quiet) for (const r of results) process.stderr.write(`${r.added ? 'Signed' : 'Already signed'} ${r.digest} as ${identity}\n`);
    return 0;
  },
};

function signedIdentity(target: SignTarget, flag: string | undefined): string {
  if (flag !== undefined) {
    parseDockerReference(flag);
    return flag;
  }
  if (target.dockerReference) {
    const ref = { ...target.dockerReference };
    if (ref.tag !== undefined) delete ref.digest;
    return formatDockerReference(ref);
  }
  throw new BerthError('USAGE', `sign: ${target.input} carries no registry name; pass --identity REGISTRY/REPO[:TAG] (the name it will be pulled by)`);
}
