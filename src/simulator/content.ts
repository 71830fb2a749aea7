import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { CHUNK_SIZE, generatedStream, type GeneratedSeed } from './generated-content.ts';

/**
 * Where a file's true bytes come from. None of them holds a large file in memory: disk files are
 * streamed, generated files computed per chunk; only inline content (small, given by a test) and
 * OVF manifests (a few lines) are buffers.
 */
export type ContentSource =
  | { kind: 'disk'; size: number; path: string }
  | { kind: 'generated'; size: number; seed: GeneratedSeed }
  | { kind: 'inline'; size: number; bytes: Buffer }
  /** An OVF manifest's text depends on the other files' SHA-1s, so it is known only once they are. */
  | { kind: 'manifest'; size: number; text: () => Promise<Buffer> };

/** The bytes at [start, end) as a stream that produces only as fast as it is read. */
export function openContent(source: ContentSource, start = 0, end = source.size): Readable {
  if (start >= end) return Readable.from([], { objectMode: false });
  switch (source.kind) {
    case 'disk':
      return createReadStream(source.path, { start, end: end - 1, highWaterMark: CHUNK_SIZE });
    case 'generated':
      return generatedStream(source.seed, start, end);
    case 'inline':
      return Readable.from([source.bytes.subarray(start, end)], { objectMode: false });
    case 'manifest':
      return Readable.from(
        (async function* () {
          yield (await source.text()).subarray(start, end);
        })(),
        { objectMode: false },
      );
  }
}
