/** The summary of repeated measurements the report prints: median and spread. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { median: NaN, min: NaN, max: NaN, samples: [] };
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, samples: [...samples] };
}

/** Decimal megabytes per second, as curl reports them. */
export function mbPerSecond(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/**
 * Ratios of runs made side by side (round i of A over round i of B), not a ratio of medians: both
 * sides of a round saw the same machine state, so the round-to-round drift cancels out.
 */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.min(a.length, b.length);
  return Array.from({ length: n }, (_, i) => a[i]! / b[i]!);
}

/** Runs `sides` in turn for `rounds` rounds, the starting side alternating (A B, B A, A B…). */
export async function alternate<K extends string>(rounds: number, sides: Record<K, (round: number) => Promise<void>>): Promise<void> {
  const keys = Object.keys(sides) as K[];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? keys : [...keys].reverse();
    for (const k of order) await sides[k](round);
  }
}
