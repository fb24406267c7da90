import { BerthError } from '../errors/BerthError.js';
import type { ImageReference, Transport } from './types.js';

/**
 * Transports register themselves here (see allTransports.ts); nothing else in
 * berth names a transport, so adding one never touches the copy pipeline.
 */
const transports = new Map<string, Transport>();

export function registerTransport(transport: Transport): void {
  transports.set(transport.name, transport);
}

export function transportNames(): string[] {
  return [...transports.keys()].sort();
}

export function getTransport(name: string): Transport {
  const transport = transports.get(name);
  if (!transport) throw new BerthError('UNSUPPORTED_TRANSPORT', `unknown transport "${name}" (known: ${transportNames().join(', ')})`);
  return transport;
}

/**
 * Parse `transport:rest` as skopeo does (`docker://busybox`, `oci:dir:tag`).
 * `defaultTransport` applies to strings without a known prefix (e.g. `berth run busybox` uses the local store).
 */
export function parseImageReference(input: string, defaultTransport?: string): ImageReference {
  const colon = input.indexOf(':');
  const prefix = colon > 0 ? input.slice(0, colon) : '';
  const transport = transports.get(prefix);
  if (transport) {
    const within = prefix === 'docker' ? stripSlashes(input.slice(colon + 1), input) : input.slice(colon + 1);
    return transport.parse(within);
  }
  if (defaultTransport) return getTransport(defaultTransport).parse(input);
  throw new BerthError('UNSUPPORTED_TRANSPORT', `invalid image name "${input}": expected TRANSPORT:NAME, with a transport among ${transportNames().join(', ')}`);
}

function stripSlashes(rest: string, input: string): string {
  if (!rest.startsWith('//')) throw new BerthError('INVALID_REFERENCE', `invalid image name "${input}": docker references are written docker://NAME`);
  return rest.slice(2);
}
