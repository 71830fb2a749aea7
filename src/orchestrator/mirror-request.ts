import { z } from 'zod';
import { allowedDestination, knownVCenter, parseStrictly, PRINTABLE, requestFields } from './download-request.ts';

/** What an operator asks to mirror: a whole library (or the items a glob picks) into one directory. */
export interface MirrorRequest {
  vcenter: string;
  /** The library's name or id. */
  library: string;
  /** A directory relative to the download root; each item lands in a directory of its own under it. */
  destination: string;
  /** A glob on item names (`photon-*`); all items when absent. */
  items?: string | undefined;
  /** Remove the copies of items that left the library. */
  prune: boolean;
  /** A cap on this run's bytes per second, over every worker together. */
  maxBytesPerSecond?: number | undefined;
}

const schema = z.strictObject({
  vcenter: requestFields.vcenter,
  library: z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters').regex(PRINTABLE, 'must not contain control characters'),
  destination: requestFields.destination,
  items: z.string().min(1, 'must not be empty').max(256).regex(PRINTABLE, 'must not contain control characters').optional(),
  prune: z.boolean().optional(),
  maxBytesPerSecond: requestFields.maxBytesPerSecond,
});

/** Validates a mirror request from anywhere (producer API, HTTP, CLI, a schedule), like download requests. */
export function parseMirrorRequest(input: unknown, options: { vcenters?: readonly string[] | undefined } = {}): MirrorRequest {
  const r = parseStrictly(schema, input);
  const vcenter = knownVCenter(r.vcenter, options);
  allowedDestination(r.destination);
  const request: MirrorRequest = { vcenter, library: r.library, destination: normalize(r.destination), prune: r.prune ?? false };
  if (r.items !== undefined) request.items = r.items;
  if (r.maxBytesPerSecond !== undefined) request.maxBytesPerSecond = r.maxBytesPerSecond;
  return request;
}

/** `a//b/./` and `a/b` are one tree: runs into it must meet. */
function normalize(destination: string): string {
  return destination.split(/[\\/]+/).filter((s) => s !== '' && s !== '.').join('/');
}
