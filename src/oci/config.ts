import { BerthError } from '../errors/BerthError.js';
import { parseDigest, type Digest } from './digest.js';

/** The image configuration (OCI image-spec config.md; Docker's is a superset we keep verbatim). */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
  [extra: string]: unknown;
}

export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: unknown;
  Shell?: string[];
  OnBuild?: string[] | null;
  [extra: string]: unknown;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

function bad(why: string): BerthError {
  return new BerthError('CONFIG_INVALID', `image config: ${why}`);
}

function optionalStringArray(value: unknown, field: string): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw bad(`${field} must be a list of strings`);
}

/** Parse and validate untrusted config bytes. */
export function parseImageConfig(bytes: Buffer): ImageConfig {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw bad('not valid JSON');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw bad('not a JSON object');
  if (typeof doc.architecture !== 'string' || typeof doc.os !== 'string') throw bad('architecture and os are required');
  const rootfs = doc.rootfs as Record<string, unknown> | undefined;
  if (!rootfs || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) throw bad('rootfs must be {type: "layers", diff_ids: [...]}');
  rootfs.diff_ids = rootfs.diff_ids.map((d) => {
    try {
      return parseDigest(d);
    } catch (err) {
      throw bad(`diff_id: ${(err as Error).message}`);
    }
  });
  const config = doc.config as Record<string, unknown> | undefined | null;
  if (config !== undefined && config !== null) {
    if (typeof config !== 'object' || Array.isArray(config)) throw bad('config must be an object');
    for (const field of ['Env', 'Entrypoint', 'Cmd', 'Shell', 'OnBuild']) optionalStringArray(config[field], field);
    for (const field of ['User', 'WorkingDir', 'StopSignal']) {
      if (config[field] !== undefined && typeof config[field] !== 'string') throw bad(`${field} must be a string`);
    }
  }
  if (doc.history !== undefined && !Array.isArray(doc.history)) throw bad('history must be a list');
  return doc as unknown as ImageConfig;
}
