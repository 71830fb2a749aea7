/**
 * vCenter's notion of now, learnt from the `Date` header of its vAPI answers. Times vCenter reports,
 * a session's `expiration_time` above all, are on its clock: compared with a worker clock that runs
 * minutes ahead, a session looks expired while it has minutes left (issue 12, B8).
 *
 * `Date` has one-second resolution and is the server's time somewhere between our request and its
 * answer, so one answer places the server's clock within about ±0.5 s plus half the round trip.
 * The latest answer wins: a vCenter whose clock NTP just stepped is believed at once.
 */
export class ServerClock {
  /** Server time minus local time, in ms; 0 (our own clock) until an answer carried a Date. */
  #offsetMs = 0;

  /** Records one answer: `sentAt` and `receivedAt` are local `Date.now()` values around it. */
  observe(date: string | string[] | undefined, sentAt: number, receivedAt: number): void {
    if (typeof date !== 'string') return;
    const server = Date.parse(date);
    if (Number.isNaN(server)) return;
    // The header truncates to the second: the middle of that second, at the middle of the exchange.
    this.#offsetMs = server + 500 - (sentAt + receivedAt) / 2;
  }

  /** Milliseconds since the epoch on the server's clock. */
  now(): number {
    return Math.round(Date.now() + this.#offsetMs);
  }
}
