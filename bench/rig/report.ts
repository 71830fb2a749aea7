import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { summarize, type Summary } from './stats.ts';

/** A target the median must meet; not a timed test, just a pass/miss in the table. */
export interface Target {
  min?: number;
  max?: number;
  text: string;
}

export interface Row {
  case: number;
  /** What it ran against: vcsim, sim-http or sim-https. */
  server: string;
  what: string;
  unit: string;
  summary: Summary;
  target?: Target | undefined;
  pass?: boolean | undefined;
}

/** Collects every measurement, prints them as they come and as one table, and writes the JSON. */
export class Report {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];
  /** How long each case took, the cores other work took meanwhile, and the 1-minute load average before and after. */
  readonly timings: Array<{ what: string; seconds: number; otherCores: number; load: number[] }> = [];
  readonly startedAt = new Date();
  readonly meta: Record<string, unknown>;

  constructor(meta: Record<string, unknown>) {
    this.meta = meta;
  }

  add(c: number, server: string, what: string, unit: string, samples: readonly number[], target?: Target): Row {
    const summary = summarize(samples);
    const pass = target ? (target.min === undefined || summary.median >= target.min) && (target.max === undefined || summary.median <= target.max) : undefined;
    const row: Row = { case: c, server, what, unit, summary, target, pass };
    this.rows.push(row);
    console.log(`  ${formatRow(row)}`);
    return row;
  }

  note(text: string): void {
    this.notes.push(text);
    console.log(`  note: ${text}`);
  }

  timing(what: string, seconds: number, otherCores: number, load: number[]): void {
    this.timings.push({ what, seconds: Math.round(seconds), otherCores: Math.round(otherCores * 100) / 100, load: load.map((l) => Math.round(l * 10) / 10) });
  }

  print(): void {
    console.log(`\n${header()}`);
    for (const r of this.rows) console.log(formatRow(r));
    const checked = this.rows.filter((r) => r.target);
    const missed = checked.filter((r) => !r.pass);
    console.log(`\ntargets: ${checked.length - missed.length} of ${checked.length} met`);
    for (const n of this.notes) console.log(`note: ${n}`);
    // Other work on the machine: the cores it took while a case ran (kernel threads writing back the
    // case's own files count there too). Load average also counts the case's own waits for the disk.
    for (const t of this.timings) console.log(`time: ${t.what} ${t.seconds} s, other work ${t.otherCores} cores, load average ${t.load.join(' → ')}`);
  }

  async write(dir: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `${this.startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    const body = { startedAt: this.startedAt.toISOString(), finishedAt: new Date().toISOString(), ...this.meta, rows: this.rows, timings: this.timings, notes: this.notes };
    await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
    return file;
  }
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function header(): string {
  return `${'case'.padEnd(5)}${'server'.padEnd(10)}${'measurement'.padEnd(50)}${'median'.padStart(10)}  ${'spread (min–max)'.padEnd(20)}target`;
}

function formatRow(r: Row): string {
  const s = r.summary;
  const spread = `${fmt(s.min)}–${fmt(s.max)}`;
  const target = r.target ? `${r.target.text.padEnd(22)} ${r.pass ? 'pass' : 'MISS'}` : '';
  return `${String(r.case).padEnd(5)}${r.server.padEnd(10)}${`${r.what} (${r.unit})`.padEnd(50)}${fmt(s.median).padStart(10)}  ${spread.padEnd(20)}${target}`;
}
