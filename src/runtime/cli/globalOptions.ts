export interface GlobalOptions {
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  /** --rootless true|false; undefined (auto): rootless when not root. */
  rootless?: boolean;
}
