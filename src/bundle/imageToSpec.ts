import type { ImageConfig } from '../oci/config.js';
import type { RootResolver } from '../layer/rootResolver.js';
import { defaultRuntimeSpec, type RuntimeSpec } from './runtimeSpec.js';
import { resolveUser } from './userLookup.js';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Build config.json from an image config as image-spec conversion.md lays out:
 * Entrypoint+Cmd → args, Env → env, WorkingDir → cwd, User → uid/gid (names
 * resolved in the rootfs), and the config's facts → org.opencontainers.image.*
 * annotations, on top of runc's defaults. Labels and the manifest's
 * annotations are carried as annotations too, the conversion keys winning.
 */
export function imageToRuntimeSpec(config: ImageConfig, resolver: RootResolver, manifestAnnotations: Record<string, string> = {}): { spec: RuntimeSpec; warnings: string[] } {
  const spec = defaultRuntimeSpec();
  const warnings: string[] = [];
  const c = config.config ?? {};
  const args = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  if (args.length > 0) spec.process.args = args;
  else warnings.push('the image has no Entrypoint or Cmd; config.json runs "sh" as `runc spec` does');
  const env = [...(c.Env ?? [])];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  spec.process.env = env;
  const user = resolveUser(resolver, c.User);
  const cwd = c.WorkingDir && c.WorkingDir !== '' ? c.WorkingDir : '/';
  spec.process.cwd = cwd.startsWith('/') ? cwd : `/${cwd}`;
  spec.process.user = { uid: user.uid, gid: user.gid };
  // As docker and umoci do: a process gets a HOME even when the image sets none.
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home || (user.uid === 0 ? '/root' : '/')}`);
  if (user.additionalGids.length > 0) spec.process.user.additionalGids = user.additionalGids;

  const annotations: Record<string, string> = { ...(c.Labels ?? {}), ...manifestAnnotations };
  const set = (key: string, value: unknown): void => {
    if (typeof value === 'string' && value !== '') annotations[`org.opencontainers.image.${key}`] = value;
  };
  set('os', config.os);
  set('architecture', config.architecture);
  set('variant', config.variant);
  set('os.version', config['os.version']);
  const features = config['os.features'];
  if (Array.isArray(features) && features.length > 0) set('os.features', features.join(','));
  set('author', config.author);
  set('created', config.created);
  set('stopSignal', c.StopSignal);
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length > 0) set('exposedPorts', Object.keys(c.ExposedPorts).sort().join(','));
  spec.annotations = annotations;
  return { spec, warnings };
}
