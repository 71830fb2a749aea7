import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { parentPort } from 'node:worker_threads';
import { CHUNK_SIZE, fillGenerated } from './generated-content.ts';

/**
 * Hashes large files off the simulator's event loop, which must keep serving data at full speed.
 * Jobs interleave (each yields between chunks), so a small file's checksum is not stuck behind a
 * 20 GiB one.
 */

export type ChecksumJobSource =
  | { kind: 'disk'; size: number; path: string }
  | { kind: 'generated'; size: number; shift: number; tag: Uint8Array };

export interface ChecksumJob {
  id: number;
  source: ChecksumJobSource;
  /** node:crypto names: sha1, md5, sha256, sha512 */
  algorithms: string[];
}

export type ChecksumReply = { id: number; digests: Record<string, string> } | { id: number; error: string };

async function hashJob(job: ChecksumJob): Promise<Record<string, string>> {
  const hashes = job.algorithms.map((a): [string, Hash] => [a, createHash(a)]);
  const update = (chunk: Buffer): void => {
    for (const [, h] of hashes) h.update(chunk);
  };
  const source = job.source;
  if (source.kind === 'disk') {
    for await (const chunk of createReadStream(source.path, { highWaterMark: CHUNK_SIZE })) update(chunk as Buffer);
  } else {
    const seed = { shift: source.shift, tag: Buffer.from(source.tag) };
    // One buffer reused: hashing is synchronous, so nothing holds a chunk past update().
    const buffer = Buffer.allocUnsafeSlow(CHUNK_SIZE);
    for (let at = 0, n = 0; at < source.size; at += CHUNK_SIZE, n++) {
      const chunk = buffer.subarray(0, Math.min(CHUNK_SIZE, source.size - at));
      fillGenerated(seed, at, chunk);
      update(chunk);
      // Let other jobs' messages in: generated chunks never wait on I/O by themselves.
      if (n % 8 === 7) await yieldToEvents();
    }
  }
  return Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')]));
}

parentPort?.on('message', (job: ChecksumJob) => {
  hashJob(job).then(
    (digests) => parentPort?.postMessage({ id: job.id, digests } satisfies ChecksumReply),
    (err: unknown) => parentPort?.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) } satisfies ChecksumReply),
  );
});
