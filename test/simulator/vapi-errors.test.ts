import { describe, expect, it } from 'vitest';
import { type VapiErrorType, VAPI_ERROR_TYPES, vapiErrorStatus } from '../../src/simulator/index.ts';
import { VapiError } from '../../src/simulator/vapi-errors.ts';

// VMware's "API error to HTTP status" tables for /rest and /api; the rows where they differ matter
// most, because a client that retries on status alone behaves differently per dialect.
const TABLE: Record<VapiErrorType, [rest: number, api: number]> = {
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

describe('vAPI errors', () => {
  it('covers every error_type of the spec', () => {
    expect(VAPI_ERROR_TYPES.map((t) => t.toUpperCase()).sort()).toEqual([
      'ALREADY_EXISTS', 'ALREADY_IN_DESIRED_STATE', 'CANCELED', 'CONCURRENT_CHANGE', 'ERROR', 'FEATURE_IN_USE',
      'INTERNAL_SERVER_ERROR', 'INVALID_ARGUMENT', 'INVALID_ELEMENT_CONFIGURATION', 'INVALID_ELEMENT_TYPE', 'INVALID_REQUEST',
      'NOT_ALLOWED_IN_CURRENT_STATE', 'NOT_FOUND', 'OPERATION_NOT_FOUND', 'RESOURCE_BUSY', 'RESOURCE_INACCESSIBLE',
      'RESOURCE_IN_USE', 'SERVICE_UNAVAILABLE', 'TIMED_OUT', 'UNABLE_TO_ALLOCATE_RESOURCE', 'UNAUTHENTICATED',
      'UNAUTHORIZED', 'UNEXPECTED_INPUT', 'UNSUPPORTED', 'UNVERIFIED_PEER',
    ]);
  });

  it.each(Object.entries(TABLE))('%s → %o (/rest, /api)', (type, [rest, api]) => {
    expect(vapiErrorStatus(type as VapiErrorType, 'rest')).toBe(rest);
    expect(vapiErrorStatus(type as VapiErrorType, 'api')).toBe(api);
  });

  it('renders the body of each dialect', () => {
    const e = new VapiError('not_found', 'Download session x does not exist.', { id: 'some.id', args: ['x'] });
    const messages = [{ id: 'some.id', default_message: 'Download session x does not exist.', args: ['x'] }];
    expect(e.bodyFor('rest')).toEqual({ type: 'com.vmware.vapi.std.errors.not_found', value: { error_type: 'NOT_FOUND', messages } });
    expect(e.bodyFor('api')).toEqual({ error_type: 'NOT_FOUND', messages });
    expect(new VapiError('error', 'x', { status: 502 }).statusFor('api')).toBe(502);
  });
});
