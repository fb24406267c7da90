import type { IncomingMessage } from 'node:http';

export type Action = 'pull' | 'push' | 'delete' | '*';

/** One access right, in the token-spec shape: `repository:NAME:pull,push` or `registry:catalog:*`. */
export interface Access {
  type: 'repository' | 'registry';
  name: string;
  actions: Action[];
}

/** What an authenticated caller may do. */
export interface Grant {
  account: string | undefined;
  allows(type: Access['type'], name: string, action: Action): boolean;
}

/**
 * An auth mode. `authorize` identifies the caller and throws a 401/403
 * RegistryError (with its challenge) unless every `needed` right is granted;
 * the returned grant answers further, optional questions (may this caller pull
 * from the mount source?).
 */
export interface Authenticator {
  readonly mode: 'none' | 'htpasswd' | 'token';
  authorize(req: IncomingMessage, needed: Access[]): Promise<Grant>;
}

export const allowEverything: Grant = { account: undefined, allows: () => true };

export function scopeString(access: Access): string {
  return `${access.type}:${access.name}:${access.actions.join(',')}`;
}

/** Parse `Authorization: Basic …` into user and password; undefined when absent or not Basic. */
export function basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined {
  const header = req.headers.authorization;
  if (!header || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
