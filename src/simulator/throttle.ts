import { performance } from 'node:perf_hooks';

/**
 * One bandwidth cap shared by every data response, like a thin WAN link to vCenter: each piece
 * reserves its slot on a single timeline and waits for it.
 */
export class Throttle {
  #nextFreeAt = 0;

  /** Milliseconds to wait before sending `bytes` at `bytesPerSecond`, reserving the slot. */
  reserve(bytes: number, bytesPerSecond: number): number {
    const now = performance.now();
    const start = Math.max(now, this.#nextFreeAt);
    this.#nextFreeAt = start + (bytes / bytesPerSecond) * 1000;
    return start - now;
  }

  /** Pieces small enough that a capped stream flows evenly rather than in 1 MiB bursts. */
  static pieceSize(bytesPerSecond: number): number {
    return Math.max(1024, Math.min(65_536, Math.floor(bytesPerSecond / 20)));
  }
}
