import type { CopyProgressEvent } from '../copy/progress.js';
import { copyImage, type CopyOptions, type CopyResult } from '../copy/copyImage.js';
import { forEachBounded } from '../copy/boundedParallel.js';
import { BerthError, toBerthError, type ErrorCode } from '../errors/BerthError.js';
import { parseImageReference } from '../transports/transportRegistry.js';
import type { ImageReference, TransportOptions } from '../transports/types.js';
import type { SyncItem } from './syncSources.js';

export type SyncDestinationKind = 'docker' | 'dir' | 'oci';

export interface SyncOptions {
  destinationKind: SyncDestinationKind;
  destination: string;
  destinationOptions: TransportOptions;
  /** Images copied at once (an OCI layout destination takes one at a time: it has one index.json). */
  parallelImages: number;
  dryRun: boolean;
  keepGoing: boolean;
  copy: Pick<CopyOptions, 'all' | 'platforms' | 'preserveDigests' | 'parallelism' | 'blobRetries' | 'admit' | 'beforeCommit' | 'afterCommit'>;
  onResult?: (result: SyncResult) => void;
  /** Blob and manifest events of each image's copy, by its source (progress on a terminal). */
  onProgress?: (source: string, event: CopyProgressEvent) => void;
}

export interface SyncResult {
  source: string;
  destination: string;
  status: 'copied' | 'unchanged' | 'planned' | 'failed';
  digest?: string;
  error?: string;
  /** The failure's code (its exit status), when status is failed. */
  code?: ErrorCode;
  copy?: CopyResult;
}

/** Where an item lands: `docker://DEST/suffix`, `dir:DEST/suffix`, `oci:DEST:suffix`. */
export function destinationFor(item: SyncItem, kind: SyncDestinationKind, destination: string): string {
  const base = destination.replace(/^docker:\/\//, '').replace(/\/+$/, '');
  if (kind === 'docker') return `docker://${base}/${item.suffix}`;
  if (kind === 'dir') return `dir:${base}/${item.suffix}`;
  return `oci:${base}:${item.suffix}`;
}

/**
 * Copy every item through the copy pipeline, several at once. Registry to
 * registry, an image whose top-level manifest the destination already holds
 * under that name is left alone (a second sync only asks two HEADs per tag).
 * A failure is a result, not a throw: without keepGoing no further item is
 * started after it (those in flight finish), so the caller can report what
 * was done and what failed, once.
 */
export async function runSync(items: SyncItem[], options: SyncOptions): Promise<SyncResult[]> {
  const results: SyncResult[] = [];
  const existingTags = new TagListCache(options.destinationOptions);
  const parallel = options.destinationKind === 'oci' ? 1 : Math.max(1, options.parallelImages);
  let stopped = false;
  await forEachBounded(items, parallel, async (item) => {
    if (stopped) return;
    const destination = destinationFor(item, options.destinationKind, options.destination);
    const result: SyncResult = { source: item.source, destination, status: 'planned' };
    if (!options.dryRun) {
      try {
        const src = parseImageReference(item.source);
        const dst = parseImageReference(destination);
        const unchanged = await alreadyThere(src, dst, item.sourceOptions, options, existingTags);
        if (unchanged) {
          result.status = 'unchanged';
          result.digest = unchanged;
        } else {
          const onProgress = options.onProgress;
          const copied = await copyImage(src, dst, { ...options.copy, sourceOptions: item.sourceOptions, destinationOptions: options.destinationOptions, ...(onProgress ? { onProgress: (event: CopyProgressEvent) => onProgress(src.toString(), event) } : {}) });
          result.status = 'copied';
          result.digest = copied.manifestDigest;
          result.copy = copied;
        }
      } catch (err) {
        const error = toBerthError(err);
        result.status = 'failed';
        result.error = error.message;
        result.code = error.code;
        if (!options.keepGoing) stopped = true;
      }
    }
    results.push(result);
    options.onResult?.(result);
  });
  return results;
}

/** The destination's digest when it already has exactly the source's top-level manifest under this name. */
async function alreadyThere(src: ImageReference, dst: ImageReference, sourceOptions: TransportOptions, options: SyncOptions, existingTags: TagListCache): Promise<string | undefined> {
  if (!src.manifestHead || !dst.manifestHead) return undefined;
  if (dst.repositoryTag && !(await existingTags.has(dst, dst.repositoryTag))) return undefined;
  // The destination first: when it lacks the image (a first sync) the source need not be asked.
  const b = await dst.manifestHead(options.destinationOptions, 'destination');
  if (!b) return undefined;
  const a = await src.manifestHead(sourceOptions, 'source');
  if (!a || a.digest !== b.digest) return undefined;
  const isIndex = a.mediaType.includes('index') || a.mediaType.includes('manifest.list');
  // A single-platform sync of an index writes the instance, not the index: only an --all copy keeps the same top digest.
  if (isIndex && !options.copy.all) return undefined;
  return b.digest;
}

/**
 * The destination repositories' tag lists, fetched once each: a first sync
 * then needs no per-tag HEAD to learn that nothing is there yet.
 */
class TagListCache {
  private readonly lists = new Map<string, Promise<Set<string> | undefined>>();

  constructor(private readonly options: TransportOptions) {}

  /** False only when the tag list says so; true when it lists the tag or could not be read. */
  async has(reference: ImageReference, { repository, tag }: { repository: string; tag: string }): Promise<boolean> {
    let list = this.lists.get(repository);
    if (!list) {
      list = (reference.listTags ? reference.listTags(this.options) : Promise.reject(new Error('no tag list'))).then(
        (listed) => new Set(listed.tags),
        (err: unknown) => (err instanceof BerthError && (err.code === 'NAME_UNKNOWN' || err.code === 'NOT_FOUND') ? new Set<string>() : undefined),
      );
      this.lists.set(repository, list);
    }
    const tags = await list;
    return tags === undefined || tags.has(tag);
  }
}
