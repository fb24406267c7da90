import { BerthError } from '../../errors/BerthError.js';
import { listStoreImages, type StoredImage } from '../../transports/store/listStoreImages.js';
import { parseFlags, requireArgs, type Command, type FlagSpec } from '../command.js';
import { formatBytes } from '../progressDisplay.js';

const flagSpec: FlagSpec = { boolean: ['no-trunc', 'quiet'], string: ['format'], alias: { q: 'quiet' } };

export const imagesCommand: Command = {
  name: 'images',
  flags: flagSpec,
  usage: `
Usage: berth images [OPTIONS]

List the images in the local store ($BERTH_ROOT, else $XDG_DATA_HOME/berth).

Options:
      --format json   print a JSON array (reference, repository, tag, digest, mediaType, size in bytes)
      --no-trunc      show full digests
  -q, --quiet         print only the references
`,
  async run(argv) {
    const flags = parseFlags(argv, flagSpec, 'images');
    requireArgs(flags._.map(String), 0, 'images', 'no arguments');
    const format = flags.format as string | undefined;
    if (format !== undefined && format !== 'json') throw new BerthError('USAGE', `images: unsupported --format "${format}" (json)`);
    const images = await listStoreImages();
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify(images, null, 2)}\n`);
    } else if (flags.quiet) {
      for (const image of images) process.stdout.write(`${image.reference}\n`);
    } else {
      process.stdout.write(table(images, flags['no-trunc'] === true));
    }
    return 0;
  },
};

function table(images: StoredImage[], full: boolean): string {
  const rows = [
    ['REPOSITORY', 'TAG', 'DIGEST', 'SIZE'],
    ...images.map((i) => [i.repository, i.tag, full ? i.digest : i.digest.slice(0, 19), formatBytes(i.size)]),
  ];
  const widths = [0, 1, 2].map((col) => Math.max(...rows.map((r) => (r[col] as string).length)));
  return rows.map((r) => r.map((cell, col) => (col < 3 ? cell.padEnd((widths[col] as number) + 2) : cell)).join('')).join('\n') + '\n';
}
