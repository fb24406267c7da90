import type { IncomingMessage } from 'node:http';
import { RegistryError } from '../http/registryError.js';
import { allowEverything, basicCredentials, type Access, type Authenticator, type Grant } from './access.js';
import type { HtpasswdFile } from './htpasswd.js';

/** htpasswd Basic auth: as in docker-registry, any valid user may do anything. */
export class BasicAuthenticator implements Authenticator {
  readonly mode = 'htpasswd' as const;

  constructor(private readonly users: HtpasswdFile, private readonly realm: string) {}

  async authorize(req: IncomingMessage, _needed: Access[]): Promise<Grant> {
    const creds = basicCredentials(req);
    if (creds && (await this.users.verify(creds.user, creds.password))) return { ...allowEverything, account: creds.user };
    throw new RegistryError(401, 'UNAUTHORIZED', creds ? 'invalid username or password' : 'authentication required', undefined, {
      'WWW-Authenticate': `Basic realm="${this.realm}"`,
    });
  }
}
