import type { PrepareOutcome } from './download-sessions.ts';
import { type FaultRule, validateFaultRule } from './fault-rules.ts';
import type { OperationName } from './operation-names.ts';
import type { TimerSet } from './timer-set.ts';
import { VapiError } from './vapi-errors.ts';

export interface FaultHandle {
  remove(): void;
  /** How often the rule fired. */
  readonly hits: number;
}

/** What data faults do to one response, decided when it starts (its range is known then). */
export interface DataPlan {
  reset: { afterBytes: number; rst: boolean } | undefined;
  stall: { afterBytes: number; ms: number } | undefined;
  /** File offsets to flip in this response. */
  corrupt: number[];
  /** Junk bytes to send after the last byte, without Content-Length. */
  overlong: number | undefined;
}

interface Installed {
  rule: FaultRule;
  hits: number;
  /** Sessions a session fault already acted on. */
  sessions: Set<string>;
  stop: (() => void) | undefined;
}

export interface FaultsOptions {
  random: () => number;
  timers: TimerSet;
  invalidateApiSessions: () => void;
}

/** The rules in force, consulted by dispatch (errors), sessions (prepare) and the data route. */
export class Faults {
  #installed: Installed[] = [];
  readonly #random: () => number;
  readonly #timers: TimerSet;
  readonly #invalidateApiSessions: () => void;

  constructor(options: FaultsOptions) {
    this.#random = options.random;
    this.#timers = options.timers;
    this.#invalidateApiSessions = options.invalidateApiSessions;
  }

  add(rule: FaultRule): FaultHandle {
    validateFaultRule(rule);
    const entry: Installed = { rule, hits: 0, sessions: new Set(), stop: undefined };
    if (rule.kind === 'invalidate-api-sessions') {
      entry.stop = this.#timers.every(rule.every, () => {
        entry.hits++;
        this.#invalidateApiSessions();
      });
    }
    this.#installed.push(entry);
    return {
      remove: () => this.#remove(entry),
      get hits() {
        return entry.hits;
      },
    };
  }

  clear(): void {
    for (const e of [...this.#installed]) this.#remove(e);
  }

  /** The error to answer `op` with, if a rule fires now. */
  errorFor(op: OperationName): VapiError | undefined {
    for (const e of this.#installed) {
      const r = e.rule;
      if (r.kind !== 'error') continue;
      if (r.op !== '*' && (Array.isArray(r.op) ? !r.op.includes(op) : r.op !== op)) continue;
      if (!this.#fire(e, r.times, r.probability)) continue;
      const type = r.error ?? 'service_unavailable';
      return new VapiError(type, r.message ?? `Injected fault: ${type} on ${op}.`, { id: 'cldl.simulator.fault', status: r.status });
    }
    return undefined;
  }

  /** What the first prepare rule that applies does to this prepare call. */
  prepareOutcome(fileName: string): PrepareOutcome {
    for (const e of this.#installed) {
      const r = e.rule;
      if (r.kind !== 'prepare-never' && r.kind !== 'prepare-error' && r.kind !== 'slow-prepare') continue;
      if (r.file !== undefined && r.file !== fileName) continue;
      if (!this.#fire(e, r.times)) continue;
      if (r.kind === 'slow-prepare') return { mode: 'slow', ms: r.ms };
      return r.kind === 'prepare-never'
        ? { mode: 'never' }
        : { mode: 'error', message: r.message ?? `Injected fault: preparing ${fileName} failed.` };
    }
    return undefined;
  }

  /** Data faults for a response carrying [start, end) of `fileName`. */
  dataPlan(fileName: string, start: number, end: number): DataPlan {
    const plan: DataPlan = { reset: undefined, stall: undefined, corrupt: [], overlong: undefined };
    const length = end - start;
    for (const e of this.#installed) {
      const r = e.rule;
      if ((r.kind === 'reset' || r.kind === 'stall' || r.kind === 'corrupt' || r.kind === 'overlong') && r.file !== undefined && r.file !== fileName) continue;
      // A rule counts as fired only if this response will reach its point.
      if (r.kind === 'reset' && !plan.reset && length > r.afterBytes && this.#fire(e, r.times)) {
        plan.reset = { afterBytes: r.afterBytes, rst: r.rst ?? false };
      } else if (r.kind === 'stall' && !plan.stall && length > r.afterBytes && this.#fire(e, r.times)) {
        plan.stall = { afterBytes: r.afterBytes, ms: r.ms };
      } else if (r.kind === 'corrupt' && r.offset >= start && r.offset < end && this.#fire(e, r.times)) {
        plan.corrupt.push(r.offset);
      } else if (r.kind === 'overlong' && plan.overlong === undefined && this.#fire(e, r.times)) {
        plan.overlong = r.extraBytes;
      }
    }
    return plan;
  }

  /**
   * Whether serving `bytes` more of a session that has served `servedBefore` crosses a session
   * fault's threshold: how many of them may still go out, and what then happens to the session.
   */
  sessionAction(sessionId: string, servedBefore: number, bytes: number): { allowed: number; action: 'expire' | 'cancel' } | undefined {
    for (const e of this.#installed) {
      const r = e.rule;
      if (r.kind !== 'expire-session' && r.kind !== 'cancel-session') continue;
      if (r.session !== undefined && r.session !== sessionId) continue;
      if (e.sessions.has(sessionId) || servedBefore + bytes <= r.afterBytes || servedBefore > r.afterBytes) continue;
      if (!this.#fire(e, r.times)) continue;
      e.sessions.add(sessionId);
      return { allowed: r.afterBytes - servedBefore, action: r.kind === 'expire-session' ? 'expire' : 'cancel' };
    }
    return undefined;
  }

  /** The tightest cap on all data responses together, if any. */
  sharedBandwidth(): number | undefined {
    let cap: number | undefined;
    for (const e of this.#installed) if (e.rule.kind === 'bandwidth' && !e.rule.perConnection) cap = Math.min(cap ?? Infinity, e.rule.bytesPerSecond);
    return cap;
  }

  /** The tightest cap on each data response on its own, if any. */
  connectionBandwidth(): number | undefined {
    let cap: number | undefined;
    for (const e of this.#installed) if (e.rule.kind === 'bandwidth' && e.rule.perConnection) cap = Math.min(cap ?? Infinity, e.rule.bytesPerSecond);
    return cap;
  }

  /** The size to pad this answer of `op` to, if a huge-json rule fires now. */
  hugeJson(op: OperationName): number | undefined {
    for (const e of this.#installed) {
      const r = e.rule;
      if (r.kind === 'huge-json' && r.op === op && this.#fire(e, r.times)) return r.bytes;
    }
    return undefined;
  }

  /** How far ahead the server's clock runs: the latest clock-skew rule's, else 0. */
  clockSkewMs(): number {
    for (let i = this.#installed.length - 1; i >= 0; i--) {
      const r = this.#installed[i]!.rule;
      if (r.kind === 'clock-skew') return r.ms;
    }
    return 0;
  }

  #fire(e: Installed, times: number | undefined, probability?: number): boolean {
    if (times !== undefined && e.hits >= times) return false;
    if (probability !== undefined && this.#random() >= probability) return false;
    e.hits++;
    return true;
  }

  #remove(e: Installed): void {
    e.stop?.();
    e.stop = undefined;
    this.#installed = this.#installed.filter((x) => x !== e);
  }
}
