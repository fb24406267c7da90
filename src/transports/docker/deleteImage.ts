import type { RegistryClient } from '../../../registry/client/index.js';
import { BerthError } from '../../errors/BerthError.js';
import type { Digest } from '../../oci/digest.js';
import type { DeleteReport, TransportOptions } from '../types.js';
import type { DockerImageReference } from './DockerImageReference.js';
import { destinationEndpoint } from './endpoints.js';

export interface DeleteResult extends DeleteReport {
  deletedDigest?: Digest;
}

/**
 * Delete what the reference names and nothing a user did not ask for:
 * - by digest: the manifest goes, and with it every tag pointing at it (named in the result);
 * - by tag: the tag alone where the registry supports OCI tag deletion; otherwise the
 *   manifest is deleted by digest only if no other tag points at it, or if
 *   `allTagsOfDigest` says the user accepts losing those tags too.
 */
export async function deleteDockerImage(reference: DockerImageReference, options: TransportOptions | undefined, flags: { allTagsOfDigest: boolean }): Promise<DeleteResult> {
  const { client, repository } = destinationEndpoint(reference.ref.domain, reference.ref.path, options);
  const { tag, digest } = reference.ref;
  if (digest !== undefined) {
    const tags = await tagsPointingAt(client, repository, digest).catch(() => []);
    await client.deleteManifest(repository, digest);
    return { deletedDigest: digest, removedTags: tags, method: 'digest' };
  }
  const head = await client.headManifest(repository, tag!);
  if (!head) throw new BerthError('TAG_UNKNOWN', `${reference.toString()}: no such tag`);
  if (await client.deleteTag(repository, tag!)) return { removedTags: [tag!], method: 'tag' };
  if (!head.digest) throw new BerthError('REGISTRY_ERROR', `registry ${client.host}: cannot delete tags and did not say which manifest ${tag} names`);
  const tags = await tagsPointingAt(client, repository, head.digest);
  const others = tags.filter((t) => t !== tag);
  if (others.length > 0 && !flags.allTagsOfDigest) {
    throw new BerthError(
      'UNSUPPORTED',
      `registry ${client.host} cannot delete a tag alone; deleting ${tag} means deleting manifest ${head.digest}, which also removes tag(s) ${others.join(', ')} (pass --all-tags-of-digest to accept that)`,
    );
  }
  await client.deleteManifest(repository, head.digest);
  return { deletedDigest: head.digest, removedTags: tags.includes(tag!) ? tags : [tag!, ...tags], method: 'digest' };
}

async function tagsPointingAt(client: RegistryClient, repository: string, digest: Digest): Promise<string[]> {
  const tags = await client.listTags(repository);
  const out: string[] = [];
  for (const t of tags) {
    const head = await client.headManifest(repository, t);
    if (head?.digest === digest) out.push(t);
  }
  return out.sort();
}
