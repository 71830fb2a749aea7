import type { ServerResponse } from 'node:http';
import { writeWithBackpressure } from './response-write.ts';

const PIECE = 65_536;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Sends `value` as valid JSON of about `bytes` bytes (exactly, unless its own text is longer): an
 * object gets a long `padding` string field, anything else leading whitespace. The padding streams
 * from one 64 KiB buffer with backpressure, so a 256 MiB body costs the simulator 64 KiB, not
 * 256 MiB. For a huge-json fault: a client must refuse a body that big, not buffer it.
 */
export async function sendPaddedJson(res: ServerResponse, status: number, value: unknown, bytes: number): Promise<void> {
  const text = JSON.stringify(value);
  const [head, tail, fill] = isPlainObject(value)
    ? [`${text.slice(0, -1)}${text === '{}' ? '' : ','}"padding":"`, '"}', 0x78]
    : ['', text, 0x20];
  const headBytes = Buffer.from(head);
  const tailBytes = Buffer.from(tail);
  const padding = Math.max(0, bytes - headBytes.length - tailBytes.length);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': headBytes.length + padding + tailBytes.length });
  res.write(headBytes);
  const piece = Buffer.alloc(Math.min(padding, PIECE), fill);
  for (let left = padding; left > 0; ) {
    if (res.destroyed) return;
    const n = Math.min(left, piece.length);
    left -= n;
    const waiting = writeWithBackpressure(res, piece.subarray(0, n));
    if (waiting) await waiting;
  }
  res.end(tailBytes);
}
