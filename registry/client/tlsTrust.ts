import { readFileSync } from 'node:fs';
import { createSecureContext, type ConnectionOptions } from 'node:tls';

/** What a registry connection is told about TLS: verification, a certificate directory's CAs and client pair. */
export interface TlsSettings {
  rejectUnauthorized: boolean;
  ca?: string[];
  cert?: string;
  key?: string;
}

/**
 * The berth launcher line moves NODE_EXTRA_CA_CERTS aside (to BERTH_NODE_EXTRA_CA_CERTS) because Node
 * parses that bundle before running any code: ~30 ms on every command, and most commands (local
 * copies, unpacks, runs, plain-HTTP registries) open no TLS connection at all. The bundle is read
 * here instead, the first time a TLS connection needs it; a process started without the launcher
 * (`node main.js`) has it from Node already.
 */
let extraCa: string[] | undefined;

function deferredExtraCa(): string[] {
  if (extraCa) return extraCa;
  const file = process.env.BERTH_NODE_EXTRA_CA_CERTS;
  extraCa = [];
  if (file) {
    try {
      extraCa = [readFileSync(file, 'utf8')];
    } catch (err) {
      // Node's own behaviour for an unreadable bundle: a warning, and the well-known roots still apply.
      process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(err as Error).message}`);
    }
  }
  return extraCa;
}

/**
 * TLS options for tls.connect. Extra CAs are added to Node's roots, as NODE_EXTRA_CA_CERTS does and as
 * containers tools add a certs.d directory's CAs to the system pool. Node's `ca` option would replace the
 * roots instead (a redirect to public object storage would then fail) and, given the roots as PEM, costs
 * twice as much (~32 ms for 140 certificates here, ~17 ms for adding 144 to a context's copy of the roots);
 * addCACert on the context's native handle is how Node itself adds `ca` entries. One context per setting.
 */
export function tlsConnectionOptions(settings: TlsSettings): ConnectionOptions {
  const { rejectUnauthorized, ca = [], cert, key } = settings;
  const extra = rejectUnauthorized ? deferredExtraCa() : [];
  if (ca.length === 0 && extra.length === 0) return { rejectUnauthorized, cert, key };
  const secureContext = createSecureContext({ cert, key });
  for (const pem of [...extra, ...ca]) (secureContext.context as { addCACert(pem: string): void }).addCACert(pem);
  return { rejectUnauthorized, secureContext };
}
