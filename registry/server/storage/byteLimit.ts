import { Transform, type TransformCallback } from 'node:stream';
import { RegistryError } from '../http/registryError.js';

/** Fails a stream as soon as more than `max` bytes went through, so an oversize upload never fills the disk. */
export class ByteLimit extends Transform {
  private seen = 0;

  constructor(private readonly max: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) {
      done(new RegistryError(413, 'SIZE_INVALID', `upload exceeds the limit of ${this.max} bytes`));
      return;
    }
    done(null, chunk);
  }
}
