import { Op, type PlanStep } from './ops.js';

/** The wire form the C helper reads: u32 total length, then per step u32 op, u32 argc, and u32-length-prefixed args. */
export function encodePlan(steps: PlanStep[]): Buffer {
  const parts: Buffer[] = [];
  for (const step of steps) {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(Op[step.op], 0);
    head.writeUInt32LE(step.args.length, 4);
    parts.push(head);
    for (const arg of step.args) {
      const bytes = typeof arg === 'string' ? Buffer.from(arg, 'utf8') : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(bytes.length, 0);
      parts.push(len, bytes);
    }
  }
  const body = Buffer.concat(parts);
  const total = Buffer.alloc(4);
  total.writeUInt32LE(body.length, 0);
  return Buffer.concat([total, body]);
}
