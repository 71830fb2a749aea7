/**
 * vAPI standard errors: the one table of their HTTP statuses per dialect, and their bodies.
 *
 * The two dialects disagree on a few statuses (VMware's "API error to HTTP status" tables): /rest
 * answers 400 for most client-side conditions where /api distinguishes 409 and 500. A client that
 * retries on status alone behaves differently per dialect, which is exactly what tests need to see.
 */

export type Dialect = 'rest' | 'api';

/** Names as in `com.vmware.vapi.std.errors.<name>`; `error_type` is the upper-case form. */
export type VapiErrorType =
  | 'already_exists'
  | 'already_in_desired_state'
  | 'canceled'
  | 'concurrent_change'
  | 'error'
  | 'feature_in_use'
  | 'internal_server_error'
  | 'invalid_argument'
  | 'invalid_element_configuration'
  | 'invalid_element_type'
  | 'invalid_request'
  | 'not_allowed_in_current_state'
  | 'not_found'
  | 'operation_not_found'
  | 'resource_busy'
  | 'resource_in_use'
  | 'resource_inaccessible'
  | 'service_unavailable'
  | 'timed_out'
  | 'unable_to_allocate_resource'
  | 'unauthenticated'
  | 'unauthorized'
  | 'unexpected_input'
  | 'unsupported'
  | 'unverified_peer';

/** [status on /rest, status on /api] */
const STATUS: Record<VapiErrorType, readonly [number, number]> = {
  already_exists: [400, 400],
  already_in_desired_state: [400, 400],
  canceled: [400, 500],
  concurrent_change: [400, 409],
  error: [500, 500],
  feature_in_use: [400, 400],
  internal_server_error: [500, 500],
  invalid_argument: [400, 400],
  invalid_element_configuration: [400, 400],
  invalid_element_type: [400, 400],
  invalid_request: [400, 400],
  not_allowed_in_current_state: [400, 400],
  not_found: [404, 404],
  operation_not_found: [404, 404],
  resource_busy: [400, 500],
  resource_in_use: [400, 400],
  resource_inaccessible: [400, 500],
  service_unavailable: [503, 503],
  timed_out: [504, 504],
  unable_to_allocate_resource: [400, 500],
  unauthenticated: [401, 401],
  unauthorized: [403, 403],
  unexpected_input: [400, 400],
  unsupported: [400, 400],
  unverified_peer: [400, 500],
};

export const VAPI_ERROR_TYPES = Object.keys(STATUS) as VapiErrorType[];

export function isVapiErrorType(value: string): value is VapiErrorType {
  return Object.hasOwn(STATUS, value);
}

export function vapiErrorStatus(type: VapiErrorType, dialect: Dialect): number {
  return STATUS[type][dialect === 'rest' ? 0 : 1];
}

/** vapi.std.LocalizableMessage, as both dialects spell it. */
export interface LocalizableMessage {
  id: string;
  default_message: string;
  args: string[];
}

export function localizableMessage(id: string, text: string, args: string[] = []): LocalizableMessage {
  return { id, default_message: text, args };
}

/** An operation's failure as vCenter reports it; thrown by the simulator's handlers, rendered per dialect. */
export class VapiError extends Error {
  readonly type: VapiErrorType;
  readonly messageId: string;
  readonly args: string[];
  /** Overrides the table, for faults that want a status vCenter would not send. */
  readonly status: number | undefined;

  constructor(type: VapiErrorType, message: string, options: { id?: string; args?: string[]; status?: number } = {}) {
    super(message);
    this.name = 'VapiError';
    this.type = type;
    this.messageId = options.id ?? `com.vmware.vapi.std.errors.${type}`;
    this.args = options.args ?? [];
    this.status = options.status;
  }

  statusFor(dialect: Dialect): number {
    return this.status ?? vapiErrorStatus(this.type, dialect);
  }

  bodyFor(dialect: Dialect): unknown {
    const messages = [localizableMessage(this.messageId, this.message, this.args)];
    const errorType = this.type.toUpperCase();
    return dialect === 'rest'
      ? { type: `com.vmware.vapi.std.errors.${this.type}`, value: { error_type: errorType, messages } }
      : { error_type: errorType, messages };
  }
}
