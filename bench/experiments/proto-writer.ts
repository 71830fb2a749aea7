// A prototype of src/transfer/hashing-file-writer.ts with knobs, to measure what a change would buy
// before making it in src/: where the hash runs (nowhere, the main thread, a worker thread), how
// many positioned writes may be in flight, and whether to fdatasync at the end.
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';

export type HashMode = 'none' | 'main' | 'worker';

export interface ProtoWriterOptions {
  highWaterMark: number;
  hash: HashMode;
  algorithm: string;
  /** Positioned writes issued without waiting for the previous one (1 = cldl today). */
  inflight: number;
  /** A batch is written in writev calls of at most this many bytes (0 = one call per batch, as cldl today). */
  maxWrite: number;
  /**
   * Start an fdatasync in the background each time this many more bytes were written (0 = never),
   * so that write-back overlaps the transfer and the final fdatasync finds little left to flush.
   */
  syncEvery: number;
}

/** Hashes in a worker thread: chunks are transferred (not copied) after they are on disk. */
export class ThreadHasher {
  readonly #worker: Worker;

  constructor(algorithm: string) {
    const source = `
      const { parentPort } = require('node:worker_threads');
      const { createHash } = require('node:crypto');
      const h = createHash(${JSON.stringify(algorithm)});
      parentPort.on('message', (m) => {
        if (m === 'digest') parentPort.postMessage(h.digest('hex'));
        else for (const b of m) h.update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
      });`;
    this.#worker = new Worker(source, { eval: true });
  }

  update(chunks: Buffer[]): void {
    // Copy into one transferable ArrayBuffer: slices of a shared pool buffer cannot be transferred.
    const total = chunks.reduce((s, c) => s + c.length, 0);
    const ab = new ArrayBuffer(total);
    const view = new Uint8Array(ab);
    let at = 0;
    for (const c of chunks) {
      view.set(c, at);
      at += c.length;
    }
    this.#worker.postMessage([view], [ab]);
  }

  async digest(): Promise<string> {
    const done = new Promise<string>((resolve) => this.#worker.once('message', resolve));
    this.#worker.postMessage('digest');
    const hex = await done;
    await this.#worker.terminate();
    return hex;
  }
}

export class ProtoWriter extends Writable {
  readonly #file: FileHandle;
  readonly #hash: Hash | undefined;
  readonly #thread: ThreadHasher | undefined;
  readonly #inflightMax: number;
  readonly #maxWrite: number;
  readonly #syncEvery: number;
  #nextSync: number;
  #syncing: Promise<void> | undefined;
  backgroundSyncs = 0;
  #position: number;
  #written = 0;
  #inflight = 0;
  #waiting: (() => void) | undefined;
  #error: Error | undefined;
  writes = 0;
  writeBytes = 0;

  constructor(file: FileHandle, position: number, o: ProtoWriterOptions) {
    super({ highWaterMark: o.highWaterMark, decodeStrings: false });
    this.#file = file;
    this.#position = position;
    this.#inflightMax = o.inflight;
    this.#maxWrite = o.maxWrite;
    this.#syncEvery = o.syncEvery;
    this.#nextSync = o.syncEvery;
    if (o.hash === 'main') this.#hash = createHash(o.algorithm);
    if (o.hash === 'worker') this.#thread = new ThreadHasher(o.algorithm);
  }

  get written(): number {
    return this.#written;
  }

  override _write(chunk: Buffer, _e: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.#issue([chunk], cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (error?: Error | null) => void): void {
    this.#issue(
      chunks.map((c) => c.chunk),
      cb,
    );
  }

  override _final(cb: (error?: Error | null) => void): void {
    const check = () => {
      if (this.#inflight === 0) {
        if (!this.#syncing) return cb(this.#error);
        return void this.#syncing.then(() => cb(this.#error), cb);
      }
      this.#waiting = check;
    };
    check();
  }

  async digest(): Promise<string | undefined> {
    if (this.#hash) return this.#hash.digest('hex');
    if (this.#thread) return this.#thread.digest();
    return undefined;
  }

  #issue(buffers: Buffer[], cb: (error?: Error | null) => void): void {
    if (this.#error) return cb(this.#error);
    let total = 0;
    for (const b of buffers) total += b.length;
    const at = this.#position;
    this.#position += total;
    this.#inflight++;
    this.writes++;
    this.writeBytes += total;
    // Hashed in issue order (with several writes in flight, completion order may differ). cldl
    // hashes after the write lands; with one write in flight that is the same order and cost.
    if (this.#hash) for (const b of buffers) this.#hash.update(b);
    this.#thread?.update(buffers);
    // With inflight 1 the stream waits for this write (cldl today); with more, it may go on.
    const early = this.#inflight < this.#inflightMax;
    if (early) cb();
    const settle = (err?: Error) => {
      if (err) this.#error = err;
      else this.#written += total;
      if (this.#syncEvery > 0 && this.#written >= this.#nextSync && !this.#syncing) {
        this.#nextSync = this.#written + this.#syncEvery;
        this.backgroundSyncs++;
        this.#syncing = this.#file.datasync().finally(() => (this.#syncing = undefined));
      }
      this.#inflight--;
      if (!early) cb(err);
      const w = this.#waiting;
      this.#waiting = undefined;
      w?.();
    };
    this.#writeAll(buffers, at, total).then(() => settle(), settle);
  }

  async #writeAll(buffers: Buffer[], at: number, total: number): Promise<void> {
    let offset = at;
    for (const group of slices(buffers, this.#maxWrite)) {
      let size = 0;
      for (const b of group) size += b.length;
      let done = 0;
      let pending = group;
      while (done < size) {
        const { bytesWritten } = await this.#file.writev(pending, offset + done);
        done += bytesWritten;
        if (done < size) pending = [Buffer.concat(group, size).subarray(done)];
      }
      offset += size;
    }
    if (offset - at !== total) throw new Error('short batch');
  }
}

/** `buffers` cut into groups of at most `max` bytes (a buffer larger than `max` is split). */
function slices(buffers: Buffer[], max: number): Buffer[][] {
  if (max <= 0) return [buffers];
  const out: Buffer[][] = [];
  let group: Buffer[] = [];
  let size = 0;
  for (let b of buffers) {
    while (b.length > 0) {
      const take = Math.min(b.length, max - size);
      group.push(b.subarray(0, take));
      size += take;
      b = b.subarray(take);
      if (size === max) {
        out.push(group);
        group = [];
        size = 0;
      }
    }
  }
  if (group.length > 0) out.push(group);
  return out;
}
