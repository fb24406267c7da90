import { BerthError } from '../../errors/BerthError.js';
import { inspectImage, rawConfig, rawManifest } from '../../inspect/inspectImage.js';
import { renderTemplate } from '../../inspect/template.js';
import { normalizePlatform } from '../../oci/platform.js';
import '../../transports/allTransports.js';
import { parseImageReference } from '../../transports/transportRegistry.js';
import { parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';
import { mergeFlagSpecs, registryFlagSpec, registryFlagsUsageOne, transportOptionsFrom } from '../registryFlags.js';
import { hostPlatform } from '../../oci/platform.js';

const flagSpec: FlagSpec = mergeFlagSpecs({ boolean: ['raw', 'config', 'tags', 'n'], string: ['format', 'override-os', 'override-arch', 'override-variant'], alias: { f: 'format' }, default: { tags: true } }, registryFlagSpec('one'));

export const inspectCommand: Command = {
  name: 'inspect',
  flags: flagSpec,
  usage: `
Usage: berth inspect [OPTIONS] IMAGE

Print skopeo-compatible JSON about IMAGE (TRANSPORT:NAME, e.g. docker://HOST/REPO:TAG).
For an index, the image for this host (or --override-os/--override-arch) is described;
Digest is the digest of the top-level manifest.

Options:
      --raw                   print the manifest exactly as stored
      --config                print the image config (with --raw: its exact bytes)
  -f, --format json|TEMPLATE  output as JSON (default) or a Go-style template, e.g. '{{.Digest}}'
  -n, --no-tags               do not list the repository's tags
      --override-os OS        describe the instance for this OS
      --override-arch ARCH    describe the instance for this architecture
      --override-variant V    describe the instance for this variant
${registryFlagsUsageOne}
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'inspect');
    const args = flags._.map(String);
    requireArgs(args, 1, 'inspect', 'IMAGE');
    const reference = parseImageReference(args[0]!);
    const transportOptions = transportOptionsFrom(flags, '');
    const host = hostPlatform();
    const platform = flags['override-os'] || flags['override-arch'] || flags['override-variant']
      ? normalizePlatform({ os: String(flags['override-os'] ?? host.os), architecture: String(flags['override-arch'] ?? host.architecture), ...(flags['override-variant'] ? { variant: String(flags['override-variant']) } : {}) })
      : undefined;
    const options = { transportOptions, ...(platform ? { platform } : {}) };
    const format = flags.format === undefined ? undefined : String(flags.format);

    if (flags.raw && !flags.config) {
      const bytes = await rawManifest(reference, options);
      process.stdout.write(format && format !== 'json' ? renderTemplate(format, JSON.parse(bytes.toString('utf8'))) + '\n' : bytes);
      return 0;
    }
    if (flags.config) {
      const bytes = await rawConfig(reference, options);
      if (flags.raw) process.stdout.write(bytes);
      else print(JSON.parse(bytes.toString('utf8')), format);
      return 0;
    }
    // minimist reads --no-tags as tags=false; -n is skopeo's short form.
    const wantTags = flags.tags !== false && flags.n !== true;
    const listTags = reference.listTags && wantTags
      ? () => {
          return reference.listTags!(transportOptions).then((r) => r.tags, (err: unknown) => {
            // A registry may deny listing to a user who may pull; skopeo then fails too, but say why.
            if (err instanceof BerthError) throw new BerthError(err.code, `${err.message} (use --no-tags to skip listing tags)`);
            throw err;
          });
        }
      : undefined;
    const { output } = await inspectImage(reference, { ...options, ...(listTags ? { listTags } : {}) });
    print(output, format);
    return 0;
  },
};

function print(data: unknown, format: string | undefined): void {
  if (format === undefined || format === 'json') process.stdout.write(`${JSON.stringify(data, null, 4)}\n`);
  else process.stdout.write(`${renderTemplate(format, data)}\n`);
}
