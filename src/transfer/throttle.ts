/**
 * A bandwidth budget the transfer draws from: bytes may be received only once acquired. The
 * transfer asks for `leaseBytes` at a time and pauses its socket while it waits, so a budget shared
 * by many transfers (and many processes) holds without a call per chunk. Without one, nothing is
 * counted: a cap costs nothing when there is none.
 */
export interface Throttle {
  readonly leaseBytes: number;
  acquire(bytes: number, signal?: AbortSignal): Promise<void>;
  /** Gives back bytes acquired and not received (an answer ended inside its lease); never fails. */
  refund(bytes: number): void;
}
