import { BerthError } from '../../errors/BerthError.js';
import { LayerDecoder } from '../../layer/layerDecoder.js';
import { flagList, parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';
import { mergeFlagSpecs, registryFlagSpec, registryFlagsUsageOne, transportOptionsFrom } from '../registryFlags.js';

const flagSpec: FlagSpec = mergeFlagSpecs(
  { string: ['platform', 'uid-map', 'gid-map', 'format'], boolean: ['rootless', 'allow-devices', 'quiet'], alias: { q: 'quiet' } },
  registryFlagSpec('one'),
);

export const unpackCommand: Command = {
  name: 'unpack',
  flags: flagSpec,
  usage: `
Usage: berth unpack [OPTIONS] IMAGE BUNDLE-DIR

Write an OCI runtime bundle for IMAGE into BUNDLE-DIR (new or empty): rootfs/
from the layers (every blob and diff_id verified, every path kept inside
rootfs/) and config.json converted from the image config with runc's
defaults. Run it with: runc run --bundle BUNDLE-DIR ID.
IMAGE is TRANSPORT:NAME (oci:PATH[:TAG], oci-archive:, docker-archive:, dir:,
docker://, berth:NAME for the local store).

Options:
      --format json            print the manifest digest, layer count and bundle as JSON
      --platform OS/ARCH[/V]   image of an index to unpack (default: this host's)
      --uid-map C:H[:SIZE]     map container uid C to host uid H (repeatable); adds a user namespace
      --gid-map C:H[:SIZE]     the same for gids
      --rootless               unpack as an unprivileged user: no chown, container root = you
      --allow-devices          create device nodes found in layers (root only; skipped otherwise)
  -q, --quiet                  print nothing on success
Registry options (docker://):${registryFlagsUsageOne}
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'unpack');
    const args = flags._.map(String);
    requireArgs(args, 2, 'unpack', 'IMAGE BUNDLE-DIR');
    const platforms = flagList(flags.platform);
    if (platforms.length > 1) throw new BerthError('USAGE', 'unpack: --platform may be given once');
    // The decode worker boots (about 30 ms) on the other core while this thread loads the rest of berth.
    const decoder = new LayerDecoder();
    decoder.prestart();
    try {
      const [{ unpackImage }, { parseIdMapping }, { parsePlatform }, { parseImageReference }] = await Promise.all([
        import('../../bundle/unpackImage.js'),
        import('../../bundle/idMap.js'),
        import('../../oci/platform.js'),
        import('../../transports/transportRegistry.js'),
        import('../../transports/allTransports.js'),
      ]);
      const uidMappings = flagList(flags['uid-map']).map((m) => parseIdMapping(m, '--uid-map'));
      const gidMappings = flagList(flags['gid-map']).map((m) => parseIdMapping(m, '--gid-map'));
      const reference = parseImageReference(args[0]!);
      const source = await reference.newSource(transportOptionsFrom(flags, ''));
      try {
        const result = await unpackImage(source, args[1]!, {
          ...(platforms[0] ? { platform: parsePlatform(platforms[0]) } : {}),
          uidMappings,
          gidMappings,
          rootless: flags.rootless === true,
          devices: flags['allow-devices'] === true,
          onWarning: (message) => process.stderr.write(`berth: warning: ${message}\n`),
          decoder,
        });
        if (flags.format === 'json') process.stdout.write(`${JSON.stringify({ manifestDigest: result.manifestDigest, layers: result.layers, bundle: result.bundleDir }, null, 2)}\n`);
        else if (!flags.quiet) process.stderr.write(`Unpacked ${result.manifestDigest} (${result.layers} layers) into ${result.bundleDir}\n`);
      } finally {
        await source.close();
      }
    } finally {
      await decoder.close();
    }
    return 0;
  },
};
