import { MediaType } from '../../../src/oci/mediaTypes.js';
import { requireDigest } from './blobHandlers.js';
import type { RequestContext } from './context.js';
import { RegistryError } from './registryError.js';
import { paginate, sendJson } from './respond.js';

export async function listTags(ctx: RequestContext, name: string): Promise<void> {
  const upstream = ctx.mirror ? await ctx.mirror.tags(name) : undefined;
  if (upstream) {
    const { page, link } = paginate(upstream, ctx.query, `/v2/${name}/tags/list`);
    sendJson(ctx.req, ctx.res, 200, { name, tags: page }, link ? { Link: link } : {});
    return;
  }
  if (!(await ctx.storage.repositoryExists(name))) throw new RegistryError(404, 'NAME_UNKNOWN', `repository ${name} is unknown`, { name });
  const { page, link } = paginate(await ctx.storage.listTags(name), ctx.query, `/v2/${name}/tags/list`);
  sendJson(ctx.req, ctx.res, 200, { name, tags: page }, link ? { Link: link } : {});
}

export async function listCatalog(ctx: RequestContext): Promise<void> {
  const { page, link } = paginate(await ctx.storage.listRepositories(), ctx.query, '/v2/_catalog');
  sendJson(ctx.req, ctx.res, 200, { repositories: page }, link ? { Link: link } : {});
}

/** The referrers API: always an image index (empty when nothing refers to the subject). */
export async function listReferrers(ctx: RequestContext, name: string, digestText: string): Promise<void> {
  const subject = requireDigest(digestText);
  let manifests = await ctx.storage.listReferrers(name, subject);
  const headers: Record<string, string> = { 'Content-Type': MediaType.ociIndex };
  const artifactType = ctx.query.get('artifactType');
  if (artifactType !== null) {
    manifests = manifests.filter((m) => m.artifactType === artifactType);
    headers['OCI-Filters-Applied'] = 'artifactType';
  }
  sendJson(ctx.req, ctx.res, 200, { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }, headers);
}
