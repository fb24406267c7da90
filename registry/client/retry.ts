import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_MAX_RETRY_AFTER_MS, DEFAULT_RETRY_DELAY_MS, DEFAULT_RETRY_TIMES, type RegistryOptions } from './options.js';

/** Statuses a registry may answer transiently: worth asking again after a pause. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/** Errors from the connection rather than from the registry's answer (reset, refused, timeouts, closed sockets). */
export function isRetryableNetworkError(err: unknown): boolean {
  const e = err as { code?: string; name?: string; cause?: { code?: string } } | undefined;
  const code = e?.code ?? e?.cause?.code ?? '';
  return [
    'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
    'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
    'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'ERR_STREAM_PREMATURE_CLOSE',
  ].includes(code);
}

/** Bounded exponential backoff; Retry-After (seconds or HTTP date) wins when the registry sends it, capped. */
export class RetryPolicy {
  readonly times: number;
  private readonly delayMs: number;
  private readonly maxRetryAfterMs: number;

  constructor(options: RegistryOptions) {
    this.times = Math.max(0, options.retryTimes ?? DEFAULT_RETRY_TIMES);
    this.delayMs = Math.max(0, options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  }

  delayFor(attempt: number, retryAfter?: string | string[]): number {
    const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
    if (header !== undefined) {
      const seconds = Number(header);
      const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
      if (Number.isFinite(ms)) return Math.min(Math.max(0, ms), this.maxRetryAfterMs);
    }
    return Math.min(this.delayMs * 2 ** attempt, 30_000);
  }

  async wait(attempt: number, retryAfter?: string | string[]): Promise<void> {
    await sleep(this.delayFor(attempt, retryAfter));
  }
}
