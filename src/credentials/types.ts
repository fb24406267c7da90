/** What berth presents to a registry, however it was found. */
export type Credentials =
  | { kind: 'basic'; username: string; password: string }
  /** A refresh ("identity") token from `docker login` against an OAuth2 token server. */
  | { kind: 'identityToken'; token: string; username?: string }
  /** A bearer token used as is, never exchanged (skopeo --registry-token). */
  | { kind: 'bearer'; token: string };

/** Where credentials came from, for `--debug` and for `logout` to know what to erase. */
export interface FoundCredentials {
  credentials: Credentials;
  source: string;
}
