import type { CopyProgressEvent } from '../copy/progress.js';

/**
 * Renders copy progress: a live line per blob on a TTY, nothing otherwise
 * (the command prints one summary line at the end instead).
 */
export function progressDisplay(stream: NodeJS.WriteStream): ((event: CopyProgressEvent) => void) | undefined {
  if (!stream.isTTY) return undefined;
  const started = new Map<string, number>();
  const short = (digest: string): string => digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);
  const line = (text: string): void => {
    stream.write(`\r\x1b[2K${text}`);
  };
  return (event) => {
    switch (event.type) {
      case 'blob-reused':
        line(`Copying blob ${short(event.descriptor.digest)} skipped: already exists\n`);
        break;
      case 'blob-skipped':
        line(`Copying blob ${short(event.descriptor.digest)} skipped: ${event.reason}\n`);
        break;
      case 'blob-start':
        started.set(event.descriptor.digest, Date.now());
        break;
      case 'blob-retry':
        started.set(event.descriptor.digest, Date.now());
        line(`Copying blob ${short(event.descriptor.digest)} again from the start: ${event.reason}\n`);
        break;
      case 'blob-progress': {
        const seconds = Math.max(0.001, (Date.now() - (started.get(event.descriptor.digest) ?? Date.now())) / 1000);
        line(`Copying blob ${short(event.descriptor.digest)} ${formatBytes(event.bytes)} / ${formatBytes(event.descriptor.size)} (${formatBytes(event.bytes / seconds)}/s)`);
        break;
      }
      case 'blob-done':
        line(`Copying blob ${short(event.descriptor.digest)} done ${formatBytes(event.bytes)}\n`);
        break;
      case 'manifest':
        line(`Writing manifest ${short(event.digest)}${event.instance ? ' (instance)' : ''}\n`);
        break;
      case 'image':
        break;
    }
  };
}

/**
 * Sync's progress on a terminal: several images copy at once, so one live line sums them up (images done of all,
 * those in flight, blobs and bytes so far) and `clear` makes room for each image's result line.
 */
export function syncProgressDisplay(stream: NodeJS.WriteStream, images: number): { onProgress: (source: string, event: CopyProgressEvent) => void; clear: () => void; imageDone: () => void } | undefined {
  if (!stream.isTTY) return undefined;
  const inFlight = new Set<string>();
  let done = 0;
  let blobs = 0;
  let bytes = 0;
  const render = () => stream.write(`\r\x1b[2K[${done}/${images} images] ${inFlight.size} copying, ${blobs} blobs, ${formatBytes(bytes)}`);
  return {
    onProgress: (source, event) => {
      inFlight.add(source);
      if (event.type === 'blob-done') {
        blobs++;
        bytes += event.bytes;
      } else if (event.type === 'blob-reused' || event.type === 'blob-skipped') blobs++;
      else if (event.type === 'image') inFlight.delete(source);
      render();
    },
    clear: () => stream.write('\r\x1b[2K'),
    imageDone: () => {
      done++;
      render();
    },
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}
