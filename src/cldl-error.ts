/**
 * The root of every error cldl raises on purpose. Each layer's `errors.ts` adds its own subclasses.
 *
 * Code branches on `code` (stable, documented) and `retryable` (whether trying the same thing again
 * can succeed), never on message text: messages are for the humans who read logs and vCenter's UI.
 */
export interface CldlErrorOptions {
  cause?: unknown;
  retryable?: boolean;
}

export class CldlError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: CldlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

export function isCldlError(err: unknown): err is CldlError {
  return err instanceof CldlError;
}
