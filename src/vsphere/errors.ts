import { CldlError, type CldlErrorOptions } from '../cldl-error.ts';
import { redactUri } from './redact-uri.ts';

/** The standard vAPI error types (`com.vmware.vapi.std.errors.*`), in the /rest spelling. */
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

/**
 * Whether the same call can succeed later. Types not listed here (and types we do not know) fall
 * back on the HTTP status: 5xx and 429 are worth another try, the rest is the caller's fault.
 */
const RETRYABLE: Partial<Record<string, boolean>> = {
  service_unavailable: true,
  resource_busy: true,
  resource_inaccessible: true,
  concurrent_change: true,
  timed_out: true,
  unable_to_allocate_resource: true,
  internal_server_error: true,
  not_found: false,
  unauthenticated: false,
  unauthorized: false,
  invalid_argument: false,
  not_allowed_in_current_state: false,
  already_exists: false,
  operation_not_found: false,
  unsupported: false,
};

export function isRetryableVapiError(errorType: string, status: number): boolean {
  return RETRYABLE[errorType] ?? (status >= 500 || status === 429);
}

/** A vAPI call answered with an error: the server's type, status and message, and which call it was. */
export class VapiError extends CldlError {
  readonly errorType: string;
  readonly status: number;
  readonly operation: string;
  readonly serverMessage: string;

  constructor(init: { operation: string; status: number; errorType: string; serverMessage: string; cause?: unknown }) {
    super(
      `CLDL_VAPI_${init.errorType.toUpperCase()}`,
      `${init.operation} failed: ${init.serverMessage} (${init.errorType}, HTTP ${init.status})`,
      { cause: init.cause, retryable: isRetryableVapiError(init.errorType, init.status) },
    );
    this.errorType = init.errorType;
    this.status = init.status;
    this.operation = init.operation;
    this.serverMessage = init.serverMessage;
  }
}

export function isVapiError(err: unknown, errorType?: VapiErrorType): err is VapiError {
  return err instanceof VapiError && (errorType === undefined || err.errorType === errorType);
}

/** vCenter could not be reached, or the connection broke before an answer: always worth a retry. */
export class VapiConnectionError extends CldlError {
  readonly operation: string;
  constructor(operation: string, message: string, options: CldlErrorOptions = {}) {
    super('CLDL_VAPI_CONNECTION', `${operation} failed: ${message}`, { retryable: true, ...options });
    this.operation = operation;
  }
}

/** The server answered 2xx with a body that is not what the spec promises. */
export class VapiProtocolError extends CldlError {
  readonly operation: string;
  constructor(operation: string, message: string, options: CldlErrorOptions = {}) {
    super('CLDL_VAPI_PROTOCOL', `${operation}: unexpected answer from vCenter: ${message}`, options);
    this.operation = operation;
  }
}

/**
 * A vAPI answer (success or error) longer than the vCenter's `maxResponseBytes`: the client hung up
 * rather than hold it in memory. The same call would get the same answer, so it is not retried.
 */
export class ResponseTooLargeError extends CldlError {
  readonly operation: string;
  readonly vcenter: string;
  readonly status: number;
  readonly limitBytes: number;
  constructor(init: { operation: string; vcenter: string; status: number; limitBytes: number }) {
    super(
      'CLDL_RESPONSE_TOO_LARGE',
      `${init.operation}: vCenter ${init.vcenter} answered HTTP ${init.status} with a body over the ${bytes(init.limitBytes)} cap ` +
        `(maxResponseBytes); not reading it`,
    );
    this.operation = init.operation;
    this.vcenter = init.vcenter;
    this.status = init.status;
    this.limitBytes = init.limitBytes;
  }
}

function bytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** vCenter refused the configured credentials. Retrying with the same ones cannot help. */
export class LoginError extends CldlError {
  constructor(message: string, options: CldlErrorOptions = {}) {
    super('CLDL_VAPI_LOGIN_FAILED', message, options);
  }
}

/** A file's preparation ended in ERROR (`CLDL_PREPARE_FAILED`) or did not finish in time (`CLDL_PREPARE_TIMEOUT`). */
export class FilePreparationError extends CldlError {
  readonly fileName: string;
  constructor(code: 'CLDL_PREPARE_FAILED' | 'CLDL_PREPARE_TIMEOUT', fileName: string, message: string, options: CldlErrorOptions = {}) {
    super(code, message, { retryable: code === 'CLDL_PREPARE_TIMEOUT', ...options });
    this.fileName = fileName;
  }
}

/** A TLS peer whose certificate does not match the thumbprint we were told to expect. */
export class ThumbprintMismatchError extends CldlError {
  constructor(host: string, expected: string, actual: string) {
    super(
      'CLDL_TLS_THUMBPRINT_MISMATCH',
      `the TLS certificate of ${host} has thumbprint ${actual}, but ${expected} was expected: refusing to talk to it`,
    );
  }
}

/** Which rule a refused download endpoint broke (see DataEndpointPolicy). */
export type DataEndpointRule = 'malformed' | 'scheme' | 'host';

/**
 * A download endpoint we will not send our API session token to: not a URL, not encrypted while
 * the vCenter is (`scheme`), or on a host and port that are neither the vCenter's nor in its
 * `dataHosts` (`host`). The token would hand our vCenter session to whoever runs or watches it.
 */
export class DataEndpointRejectedError extends CldlError {
  readonly rule: DataEndpointRule;
  /** The endpoint without user info, query or fragment. */
  readonly endpoint: string;
  constructor(uri: string, rule: DataEndpointRule, reason: string) {
    const endpoint = redactUri(uri);
    super('CLDL_DATA_ENDPOINT_REJECTED', `download endpoint ${endpoint} refused: ${reason}`);
    this.rule = rule;
    this.endpoint = endpoint;
  }
}

/** The peer's certificate failed verification: a configuration matter (CA, thumbprint), not a transient. */
export class TlsVerificationError extends CldlError {
  constructor(origin: string, reason: string, options: CldlErrorOptions = {}) {
    super(
      'CLDL_TLS_VERIFY_FAILED',
      `TLS verification of ${origin} failed (${reason}); configure the vCenter's CA bundle or its thumbprint, ` +
        `or, for a lab only, insecure: true`,
      options,
    );
  }
}
