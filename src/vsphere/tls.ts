import { TLSSocket } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { CldlError } from '../cldl-error.ts';
import { ThumbprintMismatchError, TlsVerificationError } from './errors.ts';

export interface TlsOptions {
  /** PEM bundle trusted in addition to Node's roots (a private vCenter CA). */
  ca?: string;
  /** Skip certificate verification entirely: an explicit opt-in for labs, never the default. */
  insecure?: boolean;
  /**
   * The peer's certificate thumbprint (SHA-1, or SHA-256, hex with any separators). A match replaces
   * chain verification, as govc does: vCenters and ESXi hosts often carry self-signed certificates.
   */
  thumbprint?: string;
}

export interface AgentOptions {
  tls: TlsOptions;
  connections: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

/** `ab:cd…` / `ABCD…` / `AB CD …` -> `AB:CD:…`, the form Node's `fingerprint` uses. */
export function normalizeThumbprint(thumbprint: string): string {
  const hex = thumbprint.replace(/[^0-9a-f]/gi, '').toUpperCase();
  if (hex.length !== 40 && hex.length !== 64) {
    throw new CldlError('CLDL_INVALID_ARGUMENT', `not a SHA-1 or SHA-256 certificate thumbprint: ${thumbprint}`);
  }
  return hex.match(/../g)!.join(':');
}

/**
 * An undici Agent for one peer: keep-alive, bounded connections, the configured timeouts, and TLS
 * that verifies by default. With a thumbprint, the connector checks the peer's certificate after
 * the handshake and refuses the socket before a single request byte (or our session header) is
 * written to it.
 */
export function createAgent(options: AgentOptions): Agent {
  const pin = options.tls.thumbprint === undefined ? undefined : normalizeThumbprint(options.tls.thumbprint);
  const base = buildConnector({
    ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca }),
    rejectUnauthorized: pin === undefined && options.tls.insecure !== true,
    timeout: options.connectTimeoutMs,
    // A resumed TLS session may skip the certificate exchange we want to check.
    ...(pin === undefined ? {} : { maxCachedSessions: 0 }),
  });
  const connect: buildConnector.connector =
    pin === undefined
      ? base
      : (opts, callback) =>
          base(opts, (err, socket) => {
            if (err !== null) return callback(err, null);
            if (socket instanceof TLSSocket) {
              const cert = socket.getPeerCertificate();
              const actual = pin.length === 59 ? cert.fingerprint : cert.fingerprint256;
              if (actual !== pin) {
                socket.destroy();
                return callback(new ThumbprintMismatchError(`${opts.hostname}:${opts.port}`, pin, actual ?? 'none'), null);
              }
            }
            callback(null, socket);
          });
  return new Agent({
    connect,
    connections: options.connections,
    headersTimeout: options.headersTimeoutMs,
    bodyTimeout: options.bodyTimeoutMs,
  });
}

// OpenSSL's verdicts that mean "this certificate is not trusted", as opposed to a network fault.
const VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A TlsVerificationError when `err` is a certificate verification failure, else undefined. */
export function asTlsVerificationError(origin: string, err: unknown): TlsVerificationError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && VERIFY_CODES.has(code)) return new TlsVerificationError(origin, `${code}: ${e.message}`, { cause: err });
  }
  return undefined;
}
