import { applyUserNamespace, defaultRuntimeSpec } from '../../bundle/runtimeSpec.js';
import type { Spec } from '../../oci/runtimeSpec.js';

/**
 * The config.json `berth-runc spec` writes: the same starting point `runc spec`
 * gives (bundles made by `berth unpack` start from the same defaults, without a
 * terminal). `--rootless` maps container root to the caller, as runc does.
 */
export function defaultSpec(options: { rootless?: boolean; uid?: number; gid?: number } = {}): Spec {
  const spec = defaultRuntimeSpec();
  spec.ociVersion = '1.0.2-dev';
  spec.process.terminal = true;
  spec.hostname = 'berth';
  if (options.rootless) {
    applyUserNamespace(spec, [{ containerID: 0, hostID: options.uid ?? 1000, size: 1 }], [{ containerID: 0, hostID: options.gid ?? 1000, size: 1 }]);
  }
  return spec;
}
