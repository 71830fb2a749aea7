import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * Deterministic file content of any size at about the cost of a memcpy, held in no more than one
 * shared 2 MiB pattern whatever the file sizes.
 *
 * Each byte comes from a pseudo-random pattern whose period (1 MiB + 4099, a prime tail) is not a
 * power of two, so no two 4 KiB blocks of a file line up with the same pattern bytes at any resume
 * offset a client is likely to get wrong; and the first 16 bytes of every 4 KiB block are stamped
 * with the block's offset and the file's tag, so every block of every file is distinct. A client that
 * resumes at a wrong offset, or mixes up two files, ends with a wrong checksum.
 */

export const PATTERN_PERIOD = 1_048_576 + 4_099;
export const STAMP_BLOCK = 4096;
const STAMP_LENGTH = 16;
/** Chunks of ~1 MiB keep per-chunk overhead (JS, syscalls) negligible at hundreds of MB/s. */
export const CHUNK_SIZE = 1_048_576;

let doubledPattern: Buffer | undefined;

/** The pattern twice over, so that any window of up to one period is a single copy. */
function pattern(): Buffer {
  if (!doubledPattern) {
    // AES-CTR over zeros: a seeded pseudo-random stream produced in C, not in a per-byte JS loop.
    const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 0x5c), Buffer.alloc(16, 0x36));
    const once = cipher.update(Buffer.alloc(PATTERN_PERIOD));
    doubledPattern = Buffer.concat([once, once]);
  }
  return doubledPattern;
}

/** What distinguishes one generated file from another: a shift into the pattern and an 8-byte tag. */
export interface GeneratedSeed {
  shift: number;
  tag: Buffer;
}

/**
 * Stable across runs (derived from names, not ids), so benchmarks can compare checksums between
 * runs. A later content generation of the item (replaced content) mixes in its number; the first
 * does not, so content is what it always was.
 */
export function generatedSeed(itemName: string, fileName: string, generation = 1): GeneratedSeed {
  const hash = createHash('sha256').update(itemName).update('\0').update(fileName);
  if (generation > 1) hash.update(`\0${generation}`);
  const digest = hash.digest();
  return { shift: digest.readUInt32LE(0) % PATTERN_PERIOD, tag: digest.subarray(8, 16) };
}

/** Writes the bytes of the file at [offset, offset + target.length) into target. */
export function fillGenerated(seed: GeneratedSeed, offset: number, target: Buffer): void {
  const source = pattern();
  for (let done = 0; done < target.length; ) {
    const at = (offset + done + seed.shift) % PATTERN_PERIOD;
    const n = Math.min(target.length - done, PATTERN_PERIOD);
    source.copy(target, done, at, at + n);
    done += n;
  }
  stamp(seed, offset, target);
}

function stamp(seed: GeneratedSeed, offset: number, target: Buffer): void {
  const end = offset + target.length;
  const scratch = Buffer.allocUnsafe(STAMP_LENGTH);
  seed.tag.copy(scratch, 8);
  for (let block = offset - (offset % STAMP_BLOCK); block < end; block += STAMP_BLOCK) {
    if (block + STAMP_LENGTH <= offset) continue;
    // Two 32-bit halves: offsets pass 2^32 in a 20 GiB file and BigInt per block is not needed.
    scratch.writeUInt32LE(block % 0x1_0000_0000, 0);
    scratch.writeUInt32LE(Math.floor(block / 0x1_0000_0000), 4);
    const from = Math.max(offset - block, 0);
    const to = Math.min(end - block, STAMP_LENGTH);
    scratch.copy(target, block + from - offset, from, to);
  }
}

/**
 * Chunk buffers handed back once the socket has written them. A fresh 1 MiB buffer per chunk would
 * be garbage at 300+ MB/s, and the allocator keeps such garbage: the simulator's footprint would
 * grow by hundreds of MB while serving, whatever the file size. A buffer whose owner never gives it
 * back (a consumer of fileContent(), a cut response) is simply collected.
 */
class ChunkPool {
  readonly #free: ArrayBuffer[] = [];
  readonly #idle = new Set<ArrayBuffer>();
  readonly #ours = new WeakSet<ArrayBuffer>();

  /** A buffer of `length` ≤ CHUNK_SIZE bytes, contents undefined. */
  acquire(length: number): Buffer {
    let ab = this.#free.pop();
    if (ab) this.#idle.delete(ab);
    else {
      ab = new ArrayBuffer(CHUNK_SIZE);
      this.#ours.add(ab);
    }
    return Buffer.from(ab, 0, length);
  }

  /** Only once nothing (the socket above all) refers to the chunk any more. */
  release(chunk: Buffer): void {
    const ab = chunk.buffer;
    if (!(ab instanceof ArrayBuffer) || !this.#ours.has(ab) || this.#idle.has(ab) || this.#free.length >= 16) return;
    this.#idle.add(ab);
    this.#free.push(ab);
  }
}

export const chunkPool = new ChunkPool();

/** Streams [start, end) in CHUNK_SIZE chunks from the pool, generated only when the consumer asks (backpressure). */
export function generatedStream(seed: GeneratedSeed, start: number, end: number): Readable {
  let at = start;
  return new Readable({
    // Object mode, two chunks ahead: a byte-mode read() concatenates whatever is buffered into a
    // new buffer, which would copy every byte once more and defeat the pool.
    objectMode: true,
    highWaterMark: 2,
    read() {
      if (at >= end) {
        this.push(null);
        return;
      }
      const n = Math.min(CHUNK_SIZE, end - at);
      const chunk = chunkPool.acquire(n);
      fillGenerated(seed, at, chunk);
      at += n;
      this.push(chunk);
    },
  });
}
