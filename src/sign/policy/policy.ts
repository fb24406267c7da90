import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { BerthError } from '../../errors/BerthError.js';
import { parseDockerReference } from '../../reference/dockerReference.js';
import type { IdentityRule } from '../identity.js';

/**
 * containers-policy.json(5): per transport and scope, a list of requirements
 * an image must all satisfy. Parsed strictly: a policy file berth does not
 * fully understand is refused rather than half-enforced.
 */
export type PolicyRequirement =
  | { type: 'insecureAcceptAnything' }
  | { type: 'reject' }
  | { type: 'signedBy'; keys: Buffer[]; identity: IdentityRule }
  | { type: 'sigstoreSigned'; publicKeysPem: string[]; identity: IdentityRule };

export interface Policy {
  defaultRequirements: PolicyRequirement[];
  /** transport name → scope ("" is the transport's default) → requirements. */
  transports: Map<string, Map<string, PolicyRequirement[]>>;
  source: string;
}

const SYSTEM_POLICY = '/etc/containers/policy.json';

/** $HOME/.config/containers/policy.json when it exists, else /etc/containers/policy.json (containers' lookup). */
export function defaultPolicyPath(): string {
  const user = join(process.env.HOME ?? homedir(), '.config', 'containers', 'policy.json');
  try {
    if (statSync(user).isFile()) return user;
  } catch {
    // no per-user policy
  }
  return SYSTEM_POLICY;
}

export function loadPolicy(path: string = defaultPolicyPath()): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BerthError(code === 'ENOENT' ? 'NOT_FOUND' : 'IO_ERROR', `cannot read policy ${path}: ${code ?? (err as Error).message}`);
  }
  return parsePolicy(text, path);
}

function bad(source: string, why: string): BerthError {
  return new BerthError('USAGE', `invalid policy ${source}: ${why}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function only(obj: Record<string, unknown>, allowed: string[], where: string, source: string): void {
  for (const key of Object.keys(obj)) if (!allowed.includes(key)) throw bad(source, `${where}: unknown field "${key}"`);
}

export function parsePolicy(text: string, source: string): Policy {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad(source, 'not valid JSON');
  }
  if (!isObject(doc)) throw bad(source, 'not a JSON object');
  only(doc, ['default', 'transports'], 'top level', source);
  const baseDir = dirname(source);
  const defaultRequirements = parseRequirements(doc.default, 'default', source, baseDir);
  const transports = new Map<string, Map<string, PolicyRequirement[]>>();
  if (doc.transports !== undefined) {
    if (!isObject(doc.transports)) throw bad(source, 'transports must be an object');
    for (const [transport, scopes] of Object.entries(doc.transports)) {
      if (!isObject(scopes)) throw bad(source, `transports.${transport} must be an object`);
      const map = new Map<string, PolicyRequirement[]>();
      for (const [scope, reqs] of Object.entries(scopes)) map.set(scope, parseRequirements(reqs, `transports.${transport}["${scope}"]`, source, baseDir));
      transports.set(transport, map);
    }
  }
  return { defaultRequirements, transports, source };
}

function parseRequirements(raw: unknown, where: string, source: string, baseDir: string): PolicyRequirement[] {
  if (!Array.isArray(raw) || raw.length === 0) throw bad(source, `${where} must be a non-empty list of requirements`);
  return raw.map((r, i) => parseRequirement(r, `${where}[${i}]`, source, baseDir));
}

function readKeyPath(path: unknown, where: string, source: string, baseDir: string): Buffer {
  if (typeof path !== 'string' || path === '') throw bad(source, `${where}: key path must be a string`);
  const full = path.startsWith('/') ? path : join(baseDir, path);
  try {
    return readFileSync(full);
  } catch (err) {
    throw bad(source, `${where}: cannot read key ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function parseRequirement(raw: unknown, where: string, source: string, baseDir: string): PolicyRequirement {
  if (!isObject(raw)) throw bad(source, `${where} must be an object`);
  switch (raw.type) {
    case 'insecureAcceptAnything':
      only(raw, ['type'], where, source);
      return { type: 'insecureAcceptAnything' };
    case 'reject':
      only(raw, ['type'], where, source);
      return { type: 'reject' };
    case 'signedBy': {
      only(raw, ['type', 'keyType', 'keyPath', 'keyPaths', 'keyData', 'signedIdentity'], where, source);
      if (raw.keyType !== 'GPGKeys') throw bad(source, `${where}: keyType ${JSON.stringify(raw.keyType)} is not supported (GPGKeys)`);
      return { type: 'signedBy', keys: keyMaterial(raw, where, source, baseDir), identity: parseSignedIdentity(raw.signedIdentity, where, source) };
    }
    case 'sigstoreSigned': {
      only(raw, ['type', 'keyPath', 'keyPaths', 'keyData', 'keyDatas', 'fulcio', 'rekorPublicKeyPath', 'rekorPublicKeyData', 'signedIdentity'], where, source);
      if (raw.fulcio !== undefined) throw new BerthError('NOT_IMPLEMENTED', `policy ${source}: ${where}: fulcio (keyless) verification is not implemented in berth`);
      if (raw.rekorPublicKeyPath !== undefined || raw.rekorPublicKeyData !== undefined) throw new BerthError('NOT_IMPLEMENTED', `policy ${source}: ${where}: rekor transparency-log verification is not implemented in berth`);
      const keys = keyMaterial(raw, where, source, baseDir).map((k) => k.toString('utf8'));
      return { type: 'sigstoreSigned', publicKeysPem: keys, identity: parseSignedIdentity(raw.signedIdentity, where, source) };
    }
    default:
      throw bad(source, `${where}: unknown requirement type ${JSON.stringify(raw.type)}`);
  }
}

function keyMaterial(raw: Record<string, unknown>, where: string, source: string, baseDir: string): Buffer[] {
  const given = ['keyPath', 'keyPaths', 'keyData', 'keyDatas'].filter((k) => raw[k] !== undefined);
  if (given.length !== 1) throw bad(source, `${where}: exactly one of keyPath, keyPaths, keyData must be given`);
  if (raw.keyPath !== undefined) return [readKeyPath(raw.keyPath, where, source, baseDir)];
  if (raw.keyPaths !== undefined) {
    if (!Array.isArray(raw.keyPaths) || raw.keyPaths.length === 0) throw bad(source, `${where}: keyPaths must be a non-empty list`);
    return raw.keyPaths.map((p) => readKeyPath(p, where, source, baseDir));
  }
  const datas = raw.keyData !== undefined ? [raw.keyData] : raw.keyDatas;
  if (!Array.isArray(datas) || datas.length === 0) throw bad(source, `${where}: keyDatas must be a non-empty list`);
  return datas.map((d) => {
    if (typeof d !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(d)) throw bad(source, `${where}: keyData must be base64`);
    return Buffer.from(d, 'base64');
  });
}

function parseSignedIdentity(raw: unknown, where: string, source: string): IdentityRule {
  if (raw === undefined) return { type: 'matchRepoDigestOrExact' };
  if (!isObject(raw)) throw bad(source, `${where}: signedIdentity must be an object`);
  const w = `${where}.signedIdentity`;
  const ref = (field: string): string => {
    const value = raw[field];
    if (typeof value !== 'string') throw bad(source, `${w}: ${field} must be a string`);
    try {
      parseDockerReference(value);
    } catch (err) {
      throw bad(source, `${w}: ${(err as Error).message}`);
    }
    return value;
  };
  switch (raw.type) {
    case 'matchExact':
    case 'matchRepoDigestOrExact':
    case 'matchRepository':
      only(raw, ['type'], w, source);
      return { type: raw.type };
    case 'exactReference': {
      only(raw, ['type', 'dockerReference'], w, source);
      const value = ref('dockerReference');
      const parsed = parseDockerReference(value);
      if (parsed.tag === undefined && parsed.digest === undefined) throw bad(source, `${w}: dockerReference must include a tag or digest`);
      return { type: 'exactReference', dockerReference: value };
    }
    case 'exactRepository': {
      only(raw, ['type', 'dockerRepository'], w, source);
      const value = ref('dockerRepository');
      const parsed = parseDockerReference(value);
      if (parsed.tag !== undefined || parsed.digest !== undefined) throw bad(source, `${w}: dockerRepository must not include a tag or digest`);
      return { type: 'exactRepository', dockerRepository: value };
    }
    case 'remapIdentity': {
      only(raw, ['type', 'prefix', 'signedPrefix'], w, source);
      if (typeof raw.prefix !== 'string' || typeof raw.signedPrefix !== 'string') throw bad(source, `${w}: prefix and signedPrefix must be strings`);
      return { type: 'remapIdentity', prefix: raw.prefix, signedPrefix: raw.signedPrefix };
    }
    default:
      throw bad(source, `${w}: unknown signedIdentity type ${JSON.stringify(raw.type)}`);
  }
}
