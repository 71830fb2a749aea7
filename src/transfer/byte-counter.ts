/** Bytes on disk, bumped by the transfer and read by whoever reports progress; no callback per chunk. */
export interface ByteCounter {
  bytes: number;
}
