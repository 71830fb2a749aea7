/**
 * Every timer the simulator starts (prepare steps, syncs, periodic faults) goes through one set, so
 * stop() can clear them all and the process can exit.
 */
export class TimerSet {
  readonly #live = new Set<NodeJS.Timeout>();

  /** Runs fn once after ms; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void {
    const t = setTimeout(() => {
      this.#live.delete(t);
      fn();
    }, ms);
    this.#live.add(t);
    return () => {
      clearTimeout(t);
      this.#live.delete(t);
    };
  }

  /** Runs fn every ms until the returned function is called. */
  every(ms: number, fn: () => void): () => void {
    const t = setInterval(fn, ms);
    this.#live.add(t);
    return () => {
      clearInterval(t);
      this.#live.delete(t);
    };
  }

  clear(): void {
    for (const t of this.#live) clearTimeout(t);
    this.#live.clear();
  }
}
