/**
 * The server's clock as its clients see it: real time plus a skew (a clock-skew fault). Only what
 * goes on the wire is skewed, the Date header and the times models report; expiry, timers and
 * inspect() run on real time, as a vCenter with a wrong clock still expires sessions by its uptime.
 */
export class WireClock {
  readonly #skewMs: () => number;

  constructor(skewMs: () => number) {
    this.#skewMs = skewMs;
  }

  /** An instant of real time (ms since the epoch) as the server reports it, ISO 8601. */
  iso(realMs: number): string {
    return new Date(realMs + this.#skewMs()).toISOString();
  }

  /** The Date header for a response now, or undefined without skew (Node then sends its own). */
  dateHeader(): string | undefined {
    const skew = this.#skewMs();
    return skew === 0 ? undefined : new Date(Date.now() + skew).toUTCString();
  }
}
