import { SimulatorConfigError } from './errors.ts';
import { OPERATION_NAMES, type OperationName } from './operation-names.ts';
import { isVapiErrorType, type VapiErrorType } from './vapi-errors.ts';

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
  | PrepareFault
  | SlowPrepareFault
  | OverlongFault
  | HugeJsonFault
  | ClockSkewFault;

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

/**
 * Cap data responses to `bytesPerSecond`: all of them together (one thin link to vCenter), or with
 * `perConnection` each response on its own (a per-flow limit), so that N parallel Range requests
 * get N times the rate.
 */
export interface BandwidthFault {
  kind: 'bandwidth';
  bytesPerSecond: number;
  perConnection?: boolean;
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

/** A prepare that stays PREPARING `ms` longer than prepareDelayMs, then ends PREPARED. */
export interface SlowPrepareFault {
  kind: 'slow-prepare';
  ms: number;
  file?: string;
  times?: number;
}

/**
 * A data response that goes on past the end of what it promised: `extraBytes` junk bytes after the
 * file's (or the range's) last byte, sent chunked, without Content-Length, so only a client that
 * counts bytes against the size it expects notices.
 */
export interface OverlongFault {
  kind: 'overlong';
  extraBytes: number;
  file?: string;
  times?: number;
}

/**
 * The answer to `op` is valid JSON padded to `bytes` bytes (a long string field in an object body,
 * leading whitespace otherwise), streamed, with its Content-Length. Answers without a body (void
 * operations) are left alone.
 */
export interface HugeJsonFault {
  kind: 'huge-json';
  op: Exclude<OperationName, 'data'>;
  bytes: number;
  times?: number;
}

/**
 * The server's clock runs `ms` ahead (negative: behind): its Date header and every time it reports
 * (expiration_time, created_time, last_sync_time...) use it, while expiry still runs on real time.
 * The most recently added rule in force wins.
 */
export interface ClockSkewFault {
  kind: 'clock-skew';
  ms: number;
}

function check(ok: boolean, rule: FaultRule, what: string): void {
  if (!ok) throw new SimulatorConfigError(`fault ${rule.kind}: ${what}`);
}

/** Refuses a malformed rule before it takes effect, naming what is wrong. */
export function validateFaultRule(rule: FaultRule): void {
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
      check(rule.perConnection === undefined || typeof rule.perConnection === 'boolean', rule, 'perConnection must be a boolean');
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
    case 'slow-prepare':
      check(count(rule.ms), rule, 'ms must be a non-negative number');
      return;
    case 'overlong':
      check(Number.isSafeInteger(rule.extraBytes) && rule.extraBytes > 0, rule, 'extraBytes must be a positive integer');
      return;
    case 'huge-json':
      check((OPERATION_NAMES as readonly string[]).includes(rule.op), rule, `unknown operation ${rule.op}`);
      check(rule.op !== ('data' as string), rule, 'data answers are file bytes, not JSON (see overlong)');
      check(Number.isSafeInteger(rule.bytes) && rule.bytes > 0, rule, 'bytes must be a positive integer');
      return;
    case 'clock-skew':
      check(Number.isFinite(rule.ms), rule, 'ms must be a number');
      return;
    default:
      throw new SimulatorConfigError(`unknown fault kind ${JSON.stringify((rule as { kind?: unknown }).kind)}`);
  }
}
