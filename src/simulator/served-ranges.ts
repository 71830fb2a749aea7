/**
 * Which bytes of a file were served in a session, so that a file fetched in several Range requests
 * (a resumed download) counts as fully downloaded once every byte went out, and one fetched twice
 * counts once.
 */
export class ServedRanges {
  /** Sorted, disjoint, half-open. */
  #spans: Array<[number, number]> = [];
  #touched = false;

  add(start: number, end: number): void {
    this.#touched = true;
    if (end <= start) return;
    const out: Array<[number, number]> = [];
    let s = start;
    let e = end;
    for (const [a, b] of this.#spans) {
      if (b < s || a > e) out.push([a, b]);
      else {
        s = Math.min(s, a);
        e = Math.max(e, b);
      }
    }
    out.push([s, e]);
    out.sort((x, y) => x[0] - y[0]);
    this.#spans = out;
  }

  /** Whether [0, size) was served; an empty file counts once it was requested. */
  covers(size: number): boolean {
    if (!this.#touched) return false;
    if (size === 0) return true;
    const first = this.#spans[0];
    return first !== undefined && first[0] === 0 && first[1] >= size;
  }
}
