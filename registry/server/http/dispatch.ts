import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Access, Authenticator } from '../auth/access.js';
import type { PullThroughMirror } from '../proxy/pullThroughMirror.js';
import { TokenAuthenticator } from '../auth/tokenAuth.js';
import { isRepositoryName } from '../storage/names.js';
import type { RegistryStorage } from '../storage/registryStorage.js';
import type { UploadSessions } from '../storage/uploadSessions.js';
import { deleteBlob, getBlob } from './blobHandlers.js';
import type { RequestContext, ServerLimits } from './context.js';
import { listCatalog, listReferrers, listTags } from './listingHandlers.js';
import { deleteManifest, getManifest, putManifest } from './manifestHandlers.js';
import { RegistryError } from './registryError.js';
import { API_VERSION_HEADER, send, sendError, sendJson } from './respond.js';
import { matchRoute, type Route } from './routes.js';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './uploadHandlers.js';

export interface Dispatcher {
  storage: RegistryStorage;
  uploads: UploadSessions;
  limits: ServerLimits;
  auth: Authenticator;
  log: (line: string) => void;
  mirror?: PullThroughMirror;
}

type Handler = (ctx: RequestContext, route: Route) => Promise<void>;

function notAllowed(): never {
  throw new RegistryError(405, 'UNSUPPORTED', 'method not allowed on this endpoint');
}

/** Method table per endpoint, with the rights each needs (token-spec actions). */
function handlerFor(route: Route, method: string): { handler: Handler; actions: Access['actions'] } | undefined {
  const read = method === 'GET' || method === 'HEAD';
  switch (route.kind) {
    case 'tags':
      return read ? { handler: (c) => listTags(c, route.name), actions: ['pull'] } : undefined;
    case 'referrers':
      return read ? { handler: (c) => listReferrers(c, route.name, route.digest), actions: ['pull'] } : undefined;
    case 'manifest':
      if (read) return { handler: (c) => getManifest(c, route.name, route.reference), actions: ['pull'] };
      if (method === 'PUT') return { handler: (c) => putManifest(c, route.name, route.reference), actions: ['pull', 'push'] };
      if (method === 'DELETE') return { handler: (c) => deleteManifest(c, route.name, route.reference), actions: ['delete'] };
      return undefined;
    case 'blob':
      if (read) return { handler: (c) => getBlob(c, route.name, route.digest), actions: ['pull'] };
      if (method === 'DELETE') return { handler: (c) => deleteBlob(c, route.name, route.digest), actions: ['delete'] };
      return undefined;
    case 'uploadStart':
      return method === 'POST' ? { handler: (c) => startUpload(c, route.name), actions: ['pull', 'push'] } : undefined;
    case 'upload':
      if (method === 'GET') return { handler: (c) => uploadStatus(c, route.name, route.id), actions: ['pull', 'push'] };
      if (method === 'PATCH') return { handler: (c) => patchUpload(c, route.name, route.id), actions: ['pull', 'push'] };
      if (method === 'PUT') return { handler: (c) => finishUpload(c, route.name, route.id), actions: ['pull', 'push'] };
      if (method === 'DELETE') return { handler: (c) => cancelUpload(c, route.name, route.id), actions: ['pull', 'push'] };
      return undefined;
    default:
      return undefined;
  }
}

/** Handle one request: route, validate the name, authorise, run the handler, map failures to spec errors. */
export async function dispatch(d: Dispatcher, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
  const method = req.method ?? 'GET';
  try {
    const route = matchRoute(path);
    if (!route) throw new RegistryError(404, 'NAME_UNKNOWN', 'no such endpoint');
    if (route.kind === 'token') {
      if (!(d.auth instanceof TokenAuthenticator)) throw new RegistryError(404, 'UNSUPPORTED', 'this registry does not issue tokens');
      if (method !== 'GET' && method !== 'POST') notAllowed();
      await d.auth.handleTokenRequest(req, res, query);
      return;
    }
    if (route.kind === 'base') {
      if (method !== 'GET' && method !== 'HEAD') notAllowed();
      await d.auth.authorize(req, []);
      sendJson(req, res, 200, {});
      return;
    }
    if (route.kind === 'catalog') {
      if (method !== 'GET' && method !== 'HEAD') notAllowed();
      const grant = await d.auth.authorize(req, [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
      await listCatalog({ req, res, query, storage: d.storage, uploads: d.uploads, limits: d.limits, grant });
      return;
    }
    if (!isRepositoryName(route.name)) throw new RegistryError(400, 'NAME_INVALID', `invalid repository name "${route.name.slice(0, 140)}"`, { name: route.name.slice(0, 255) });
    const entry = handlerFor(route, method);
    if (!entry) notAllowed();
    if (d.mirror && !entry.actions.every((a) => a === 'pull')) throw new RegistryError(405, 'UNSUPPORTED', 'this registry is a pull-through mirror: pushes and deletes go to the upstream');
    const grant = await d.auth.authorize(req, [{ type: 'repository', name: route.name, actions: entry.actions }]);
    await entry.handler({ req, res, query, storage: d.storage, uploads: d.uploads, limits: d.limits, grant, ...(d.mirror ? { mirror: d.mirror } : {}) }, route);
  } catch (err) {
    answerFailure(d, req, res, err, method, path);
  }
}

function answerFailure(d: Dispatcher, req: IncomingMessage, res: ServerResponse, err: unknown, method: string, path: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof RegistryError) {
    sendError(req, res, err);
    return;
  }
  if (req.destroyed || (err as NodeJS.ErrnoException)?.code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as NodeJS.ErrnoException)?.code === 'ECONNRESET') {
    res.destroy();
    return;
  }
  d.log(`error ${method} ${path.slice(0, 200)}: ${(err as Error)?.message ?? String(err)}`);
  send(req, res, 500, { ...API_VERSION_HEADER, 'Content-Type': 'application/json' }, JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'internal server error' }] }));
}
