import type { PrepareOutcome } from './download-sessions.ts';
import { SimulatorConfigError } from './errors.ts';
import type { OperationName } from './operation-names.ts';
import { OPERATION_NAMES } from './operation-names.ts';
import type { TimerSet } from './timer-set.ts';
import { isVapiErrorType, VapiError, type VapiErrorType } from './vapi-errors.ts';

/**
 * Faults a test switches on at runtime. `times` (default: unlimited) caps how often a rule fires;
 * `file` (exact file name) narrows data and prepare faults to one file.
 */
export type FaultRule =
  | ErrorFault
  | ResetFault
  | StallFault
  | BandwidthFault
  | InvalidateApiSessionsFault
  | SessionFault
  | CorruptFault
  | PrepareFault;

/**
 * Answer an operation with a vAPI error: `error` (default service_unavailable) with its dialect's
 * status from vapi-errors.ts, or `status` if given. Fires the first `times` calls, or each call with
 * `probability` (seeded by SimulatorOptions.seed). `data` errors use the /api body.
 */
export interface ErrorFault {
  kind: 'error';
  op: OperationName | OperationName[] | '*';
  error?: VapiErrorType;
  status?: number;
  message?: string;
  times?: number;
  probability?: number;
}

/** Close a data response's connection after `afterBytes` of its body; `rst` sends a TCP RST instead of a FIN. */
export interface ResetFault {
  kind: 'reset';
  afterBytes: number;
  file?: string;
  times?: number;
  rst?: boolean;
}

/** Send nothing for `ms` after `afterBytes` of a data response's body, then carry on. */
export interface StallFault {
  kind: 'stall';
  afterBytes: number;
  ms: number;
  file?: string;
  times?: number;
}

/** Cap all data responses together to `bytesPerSecond`. */
export interface BandwidthFault {
  kind: 'bandwidth';
  bytesPerSecond: number;
}

/** Invalidate every API session every `every` ms (a vCenter that keeps restarting its sessions). */
export interface InvalidateApiSessionsFault {
  kind: 'invalidate-api-sessions';
  every: number;
}

/**
 * Expire or cancel a download session server-side once `afterBytes` of its data (all files) were
 * served, cutting its transfers. Applies to `session` only if given; `times` counts sessions.
 */
export interface SessionFault {
  kind: 'expire-session' | 'cancel-session';
  afterBytes: number;
  session?: string;
  times?: number;
}

/** Flip (XOR 0xff) the byte at `offset` of the served file; checksum_info still reports the true checksum. */
export interface CorruptFault {
  kind: 'corrupt';
  offset: number;
  file?: string;
  times?: number;
}

/** A prepare that stays PREPARING for ever, or ends in ERROR with `message`. */
export interface PrepareFault {
  kind: 'prepare-never' | 'prepare-error';
  file?: string;
  message?: string;
  times?: number;
}

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

function check(ok: boolean, rule: FaultRule, what: string): void {
  if (!ok) throw new SimulatorConfigError(`fault ${rule.kind}: ${what}`);
}

function validate(rule: FaultRule): void {
  const count = (n: number | undefined): boolean => n === undefined || (Number.isFinite(n) && n >= 0);
  if ('times' in rule) check(count(rule.times), rule, 'times must be a non-negative number');
  switch (rule.kind) {
    case 'error': {
      const ops = rule.op === '*' ? [] : Array.isArray(rule.op) ? rule.op : [rule.op];
      for (const op of ops) check((OPERATION_NAMES as readonly string[]).includes(op), rule, `unknown operation ${op}`);
      check(rule.error === undefined || isVapiErrorType(rule.error), rule, `unknown vAPI error ${String(rule.error)}`);
      check(rule.probability === undefined || (rule.probability >= 0 && rule.probability <= 1), rule, 'probability must be in [0, 1]');
      check(rule.status === undefined || (Number.isInteger(rule.status) && rule.status >= 400 && rule.status <= 599), rule, 'status must be 4xx or 5xx');
      return;
    }
    case 'reset':
    case 'expire-session':
    case 'cancel-session':
      check(count(rule.afterBytes), rule, 'afterBytes must be a non-negative number');
      return;
    case 'stall':
      check(count(rule.afterBytes) && count(rule.ms), rule, 'afterBytes and ms must be non-negative numbers');
      return;
    case 'bandwidth':
      check(Number.isFinite(rule.bytesPerSecond) && rule.bytesPerSecond > 0, rule, 'bytesPerSecond must be positive');
      return;
    case 'invalidate-api-sessions':
      check(Number.isFinite(rule.every) && rule.every > 0, rule, 'every must be a positive number of ms');
      return;
    case 'corrupt':
      check(count(rule.offset), rule, 'offset must be a non-negative number');
      return;
    case 'prepare-never':
    case 'prepare-error':
      return;
  }
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
    validate(rule);
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

  prepareOutcome(fileName: string): PrepareOutcome {
    for (const e of this.#installed) {
      const r = e.rule;
      if (r.kind !== 'prepare-never' && r.kind !== 'prepare-error') continue;
      if (r.file !== undefined && r.file !== fileName) continue;
      if (!this.#fire(e, r.times)) continue;
      return r.kind === 'prepare-never'
        ? { mode: 'never' }
        : { mode: 'error', message: r.message ?? `Injected fault: preparing ${fileName} failed.` };
    }
    return undefined;
  }

  /** Data faults for a response carrying [start, end) of `fileName`. */
  dataPlan(fileName: string, start: number, end: number): DataPlan {
    const plan: DataPlan = { reset: undefined, stall: undefined, corrupt: [] };
    const length = end - start;
    for (const e of this.#installed) {
      const r = e.rule;
      if ((r.kind === 'reset' || r.kind === 'stall' || r.kind === 'corrupt') && r.file !== undefined && r.file !== fileName) continue;
      // A rule counts as fired only if this response will reach its point.
      if (r.kind === 'reset' && !plan.reset && length > r.afterBytes && this.#fire(e, r.times)) {
        plan.reset = { afterBytes: r.afterBytes, rst: r.rst ?? false };
      } else if (r.kind === 'stall' && !plan.stall && length > r.afterBytes && this.#fire(e, r.times)) {
        plan.stall = { afterBytes: r.afterBytes, ms: r.ms };
      } else if (r.kind === 'corrupt' && r.offset >= start && r.offset < end && this.#fire(e, r.times)) {
        plan.corrupt.push(r.offset);
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

  /** The tightest bandwidth cap in force, if any. */
  bandwidth(): number | undefined {
    let cap: number | undefined;
    for (const e of this.#installed) if (e.rule.kind === 'bandwidth') cap = Math.min(cap ?? Infinity, e.rule.bytesPerSecond);
    return cap;
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
