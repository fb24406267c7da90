import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DigestingStream, isDigest, type Digest } from '../../../src/oci/digest.js';
import { parseManifest, type ParsedManifest } from '../../../src/oci/manifest.js';
import { BerthError } from '../../../src/errors/BerthError.js';
import { RegistryStorage, readdirOrEmpty } from '../storage/registryStorage.js';

export interface GcOptions {
  root: string;
  /** Also delete manifests no tag reaches (directly, through an index, or as a referrer of a kept manifest). */
  deleteUntagged?: boolean;
  /**
   * Blobs and temp files younger than this are kept even when unreferenced:
   * a client pushes layers before the manifest that references them.
   */
  gracePeriodMs?: number;
  /** Upload sessions untouched for longer than this are abandoned and removed. */
  uploadMaxAgeMs?: number;
  /** Re-hash every kept blob and remove those whose bytes do not match their name. */
  verify?: boolean;
  dryRun?: boolean;
  log?: (line: string) => void;
}

export interface GcReport {
  blobsKept: number;
  blobsRemoved: number;
  bytesFreed: number;
  manifestsRemoved: number;
  corruptBlobs: string[];
  /** Manifests whose bytes are missing or unreadable (reported; their links are left for a human to judge). */
  brokenManifests: string[];
  linksRemoved: number;
  uploadsRemoved: number;
  tempFilesRemoved: number;
}

/**
 * Mark and sweep over the storage: every manifest revision of every
 * repository is a root, it marks itself and what it references; unmarked
 * blobs past the grace period are removed. Meant for a stopped server or a
 * quiet one — the grace period is what protects a push in progress.
 */
export async function collectGarbage(options: GcOptions): Promise<GcReport> {
  // A mistyped --root must not look like a clean registry ("0 blobs removed").
  const root = await stat(options.root).catch(() => undefined);
  if (!root?.isDirectory()) throw new BerthError('NOT_FOUND', `registry gc: ${options.root} is not a registry's storage (no such directory)`);
  const storage = new RegistryStorage(options.root);
  const grace = options.gracePeriodMs ?? 10 * 60_000;
  const uploadMaxAge = options.uploadMaxAgeMs ?? 24 * 3600_000;
  const log = options.log ?? (() => undefined);
  const now = Date.now();
  const report: GcReport = { blobsKept: 0, blobsRemoved: 0, bytesFreed: 0, manifestsRemoved: 0, corruptBlobs: [], brokenManifests: [], linksRemoved: 0, uploadsRemoved: 0, tempFilesRemoved: 0 };
  const remove = async (path: string, recursive = false) => {
    if (!options.dryRun) await rm(path, { force: true, recursive });
  };

  const marked = new Set<string>();
  const repositories = await storage.listRepositories();
  for (const name of repositories) {
    const revisions = await storage.listRevisions(name);
    const parsed = new Map<Digest, ParsedManifest>();
    for (const digest of revisions) {
      const stored = await storage.getManifest(name, digest);
      try {
        if (!stored) throw new Error('missing');
        parsed.set(digest, parseManifest(stored.bytes, stored.mediaType));
      } catch {
        report.brokenManifests.push(`${name}@${digest}`);
      }
    }
    let kept = new Set<Digest>(revisions);
    if (options.deleteUntagged) {
      kept = await reachableFromTags(storage, name, parsed);
      for (const digest of revisions) {
        if (kept.has(digest) || report.brokenManifests.includes(`${name}@${digest}`)) continue;
        log(`delete untagged manifest ${name}@${digest}`);
        report.manifestsRemoved++;
        if (!options.dryRun) {
          await storage.deleteManifestRevision(name, digest);
          const subject = subjectOf(parsed.get(digest));
          if (subject) await storage.removeReferrer(name, subject, digest);
        }
      }
    }
    for (const digest of revisions) {
      if (!kept.has(digest)) continue;
      marked.add(digest);
      const doc = parsed.get(digest);
      if (doc?.kind === 'manifest') for (const blob of [doc.manifest.config, ...doc.manifest.layers]) marked.add(blob.digest);
      if (doc?.kind === 'index') for (const child of doc.index.manifests) marked.add(child.digest);
    }
  }

  const existing = new Set<string>();
  for (const algorithm of await readdirOrEmpty(storage.blobsDir)) {
    for (const prefix of await readdirOrEmpty(join(storage.blobsDir, algorithm))) {
      for (const hex of await readdirOrEmpty(join(storage.blobsDir, algorithm, prefix))) {
        const digest = `${algorithm}:${hex}`;
        const path = join(storage.blobsDir, algorithm, prefix, hex);
        const info = await stat(path).catch(() => undefined);
        if (!info) continue;
        if (!isDigest(digest)) {
          log(`remove stray file ${path}`);
          await remove(path);
          continue;
        }
        if (!marked.has(digest) && now - info.mtimeMs >= grace) {
          log(`delete blob ${digest} (${info.size} bytes)`);
          report.blobsRemoved++;
          report.bytesFreed += info.size;
          await remove(path);
          continue;
        }
        if (options.verify && !(await contentMatches(path, digest))) {
          log(`delete corrupt blob ${digest}`);
          report.corruptBlobs.push(digest);
          await remove(path);
          continue;
        }
        report.blobsKept++;
        existing.add(digest);
      }
    }
  }

  // Layer links to blobs that are gone would make HEAD lie; drop them.
  for (const name of repositories) {
    for (const digest of await storage.listLayerLinks(name)) {
      if (existing.has(digest)) continue;
      report.linksRemoved++;
      if (!options.dryRun) await storage.unlinkBlob(name, digest);
    }
  }

  for (const id of await readdirOrEmpty(storage.uploadsDir)) {
    const dir = join(storage.uploadsDir, id);
    const info = (await stat(join(dir, 'data')).catch(() => undefined)) ?? (await stat(dir).catch(() => undefined));
    if (info && now - info.mtimeMs >= uploadMaxAge) {
      log(`remove abandoned upload ${id}`);
      report.uploadsRemoved++;
      await remove(dir, true);
    }
  }
  for (const entry of await readdirOrEmpty(storage.tmpDir)) {
    const path = join(storage.tmpDir, entry);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs >= grace) {
      report.tempFilesRemoved++;
      await remove(path, true);
    }
  }
  return report;
}

function subjectOf(doc: ParsedManifest | undefined): Digest | undefined {
  if (!doc) return undefined;
  return (doc.kind === 'manifest' ? doc.manifest.subject : doc.index.subject)?.digest;
}

async function reachableFromTags(storage: RegistryStorage, name: string, parsed: Map<Digest, ParsedManifest>): Promise<Set<Digest>> {
  const reached = new Set<Digest>();
  const queue: Digest[] = [];
  for (const tag of await storage.listTags(name)) {
    const digest = await storage.resolveTag(name, tag);
    if (digest) queue.push(digest);
  }
  // Referrers of a kept manifest (signatures, SBOMs) are kept with it.
  const referrersOf = new Map<Digest, Digest[]>();
  for (const [digest, doc] of parsed) {
    const subject = subjectOf(doc);
    if (subject) referrersOf.set(subject, [...(referrersOf.get(subject) ?? []), digest]);
  }
  while (queue.length > 0) {
    const digest = queue.pop() as Digest;
    if (reached.has(digest)) continue;
    reached.add(digest);
    const doc = parsed.get(digest);
    if (doc?.kind === 'index') queue.push(...doc.index.manifests.map((m) => m.digest));
    queue.push(...(referrersOf.get(digest) ?? []));
  }
  return reached;
}

async function contentMatches(path: string, digest: Digest): Promise<boolean> {
  try {
    await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), new DigestingStream({ digest }), async function* sink(source) {
      for await (const _ of source) void _;
    });
    return true;
  } catch {
    return false;
  }
}
