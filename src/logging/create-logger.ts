import { pino, type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  /** auto: pretty on a TTY, JSON otherwise. */
  pretty: 'auto' | 'always' | 'never';
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

/**
 * Secrets that must never reach a log line, wherever they sit in an object: passwords, bearer
 * tokens, authorization headers, and vCenter API session tokens (the `vmware-api-session-id`
 * header). Download session ids are not secret (they are useful to operators) and stay.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'token',
  '*.token',
  '*.*.token',
  'authorization',
  '*.authorization',
  '*.*.authorization',
  '"vmware-api-session-id"',
  '*["vmware-api-session-id"]',
  '*.*["vmware-api-session-id"]',
  'apiSessionToken',
  '*.apiSessionToken',
];

/**
 * The process logger: JSON lines by default (one object per event, for log shippers), pretty on a
 * terminal. Jobs log through child loggers carrying their download id, item, session and attempt.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.pretty === 'always' || (options.pretty === 'auto' && !options.destination && process.stdout.isTTY);
  const base = {
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return options.destination ? pino(base, options.destination) : pino(base);
}
