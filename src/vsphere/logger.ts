/**
 * The logging the client needs, as an interface: pino's Logger fits it, and the vsphere layer stays
 * free of any logging library.
 */
export interface ClientLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** One vAPI call as metrics see it. No ids or URLs: they would explode label cardinality. */
export interface VapiCallEvent {
  vcenter: string;
  operation: string;
  outcome: 'ok' | 'error' | 'unauthenticated' | 'connection';
  status?: number;
  durationMs: number;
}
