import type { DownloadProgress } from '../orchestrator/index.ts';
import { formatProgress } from './format.ts';

const WIDTH = 30;

/**
 * Live progress for a person: a bar redrawn in place on a terminal, plain lines otherwise (a log,
 * a pipe), one every few seconds or ten percent.
 */
export class ProgressDisplay {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  #lastLine = 0;
  #lastPercent = -1;
  #drawn = false;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#tty = out.isTTY === true;
  }

  update(label: string, p: DownloadProgress, state?: string): void {
    this.show(label, p.percent, `${formatProgress(p)}${state ? `  ${state}` : ''}`);
  }

  /** One progress line: `percent` for the bar, `text` after it. */
  show(label: string, percent: number, text: string): void {
    if (this.#tty) {
      const filled = Math.round((percent / 100) * WIDTH);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}]`;
      this.#out.write(`\r\x1b[2K${label} ${bar} ${text}`);
      this.#drawn = true;
      return;
    }
    const now = Date.now();
    if (percent === this.#lastPercent || (now - this.#lastLine < 2000 && percent - this.#lastPercent < 10 && percent !== 100)) return;
    this.#lastLine = now;
    this.#lastPercent = percent;
    this.#out.write(`${label} ${text}\n`);
  }

  /** Ends the bar's line so what follows starts on a fresh one. */
  done(): void {
    if (this.#drawn) this.#out.write('\n');
    this.#drawn = false;
  }
}

/** Several downloads at once: one line each, redrawn together on a terminal. */
export class MultiProgress {
  readonly #out: NodeJS.WriteStream;
  readonly #rows = new Map<string, string>();
  readonly #plain = new Map<string, ProgressDisplay>();
  #drawn = 0;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
  }

  update(label: string, p: DownloadProgress, state?: string): void {
    if (!this.#out.isTTY) {
      let d = this.#plain.get(label);
      if (!d) this.#plain.set(label, (d = new ProgressDisplay(this.#out)));
      return d.update(label, p, state);
    }
    const filled = Math.round((p.percent / 100) * WIDTH);
    this.#rows.set(label, `${label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${formatProgress(p)}${state ? `  ${state}` : ''}`);
    if (this.#drawn > 0) this.#out.write(`\x1b[${this.#drawn}A`);
    for (const line of this.#rows.values()) this.#out.write(`\r\x1b[2K${line}\n`);
    this.#drawn = this.#rows.size;
  }
}
