import type { Agent, Dispatcher } from 'undici';
import { CldlError } from '../cldl-error.ts';
import { VapiClient } from './client.ts';
import { ContentLibraries } from './content-library.ts';
import { DownloadSessionFiles } from './download-session-file.ts';
import { DownloadSessions } from './download-session.ts';
import { DataEndpointPolicy } from './data-endpoint-policy.ts';
import { VapiProtocolError } from './errors.ts';
import { LibraryItems } from './library-item.ts';
import type { ClientLogger, VapiCallEvent } from './logger.ts';
import { redactUri } from './redact-uri.ts';
import { createAgent, normalizeThumbprint, type TlsOptions } from './tls.ts';
import type { ApiDialectName, ApiSessionInfo, TransferEndpoint } from './types.ts';

export interface VCenterOptions {
  /** The vCenter's name in cldl's configuration. */
  name?: string;
  url: string;
  username: string;
  password: string;
  api?: ApiDialectName | 'auto';
  tls?: TlsOptions;
  /**
   * Hosts besides the vCenter's own host and port that may receive our API session token on file
   * downloads: `host:port`, `host` (the default port of the endpoint's scheme: 443 for https:, 80
   * for http:; deliberately not any port, as another port is another service), `host:*` (any
   * port), `[fd00::1]:443` for IPv6, or `*` for any host and port. Whatever the host, an endpoint
   * must be https: unless the vCenter URL itself is http: (labs, simulators): the session token
   * never travels in clear text when the login did not. Endpoints elsewhere are refused with
   * DataEndpointRejectedError; a malformed entry throws when the client is built.
   */
  dataHosts?: readonly string[];
  /** Accept a download endpoint only if its certificate matches the thumbprint vCenter reports for it. */
  verifyEndpointThumbprint?: boolean;
  /** Connections per origin: vAPI calls and file data get separate pools (see below). */
  connections?: { api?: number; data?: number };
  timeouts?: { connectMs?: number; headersMs?: number; bodyIdleMs?: number; requestMs?: number };
  apiSessionKeepAliveMs?: number;
  /**
   * Longest vAPI answer read, in bytes (default 8 MiB; real answers are a few KiB). A longer one,
   * success or error, fails the call with ResponseTooLargeError, unread: memory stays bounded.
   */
  maxResponseBytes?: number;
  /** Per-call retries of transient vAPI failures. */
  retry?: { attempts?: number; baseMs?: number; maxMs?: number };
  logger?: ClientLogger;
  onCall?: (event: VapiCallEvent) => void;
}

/** Where and how to GET one file's bytes: what the transfer layer needs, and nothing about sessions. */
export interface DataEndpoint {
  url: string;
  dispatcher: Dispatcher;
  /** Headers that authorise the GET (the API session header); logs in if needed. */
  headers(): Promise<Record<string, string>>;
  /** After a 401 with `headers`: drop that token so the next `headers()` logs in again. */
  unauthorized(headers: Record<string, string>): Promise<void>;
}

const SESSION_HEADER = 'vmware-api-session-id';
const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/**
 * One configured vCenter: its API session, its connection pools and the three services a download
 * uses. vAPI calls and file data have separate pools so that eight long transfers can never make a
 * keep-alive wait for a free connection while the download session runs out of time.
 */
export class VCenterClient {
  readonly name: string;
  readonly url: string;
  readonly sessions: DownloadSessions;
  readonly files: DownloadSessionFiles;
  readonly items: LibraryItems;
  readonly libraries: ContentLibraries;
  readonly #vapi: VapiClient;
  readonly #options: VCenterOptions;
  readonly #origin: string;
  readonly #dataPolicy: DataEndpointPolicy;
  readonly #apiAgent: Agent;
  readonly #dataAgent: Agent;
  readonly #otherAgents = new Map<string, Agent>();
  readonly #otherAgentFactory: (tls: TlsOptions) => Agent;

  constructor(options: VCenterOptions) {
    this.#options = options;
    this.name = options.name ?? 'default';
    this.url = options.url;
    this.#origin = new URL(options.url).origin;
    this.#dataPolicy = new DataEndpointPolicy(this.name, options.url, options.dataHosts ?? []);
    if (options.maxResponseBytes !== undefined && !(Number.isSafeInteger(options.maxResponseBytes) && options.maxResponseBytes > 0)) {
      throw new CldlError('CLDL_INVALID_ARGUMENT', `vCenter ${this.name}: maxResponseBytes must be a whole number of bytes, 1 or more`);
    }
    const t = options.timeouts ?? {};
    const agent = (connections: number, tls: TlsOptions) =>
      createAgent({
        tls,
        connections,
        connectTimeoutMs: t.connectMs ?? 10_000,
        headersTimeoutMs: t.headersMs ?? 60_000,
        bodyTimeoutMs: t.bodyIdleMs ?? 60_000,
      });
    this.#apiAgent = agent(options.connections?.api ?? 4, options.tls ?? {});
    this.#dataAgent = agent(options.connections?.data ?? 16, options.tls ?? {});
    this.#otherAgentFactory = (tls) => agent(options.connections?.data ?? 16, tls);
    this.#vapi = new VapiClient({
      vcenter: this.name,
      url: options.url,
      username: options.username,
      password: options.password,
      api: options.api ?? 'auto',
      dispatcher: this.#apiAgent,
      requestTimeoutMs: t.requestMs ?? 60_000,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      apiSessionKeepAliveMs: options.apiSessionKeepAliveMs ?? 5 * 60_000,
      retry: { attempts: options.retry?.attempts ?? 4, baseMs: options.retry?.baseMs ?? 250, maxMs: options.retry?.maxMs ?? 4_000 },
      logger: options.logger,
      onCall: options.onCall,
    });
    this.sessions = new DownloadSessions(this.#vapi);
    this.files = new DownloadSessionFiles(this.#vapi, options.logger);
    this.items = new LibraryItems(this.#vapi);
    this.libraries = new ContentLibraries(this.#vapi);
  }

  /** Logs in now (otherwise the first call does); resolves the dialect in `auto` mode. */
  async login(): Promise<void> {
    await this.#vapi.session.token();
  }

  dialect(): Promise<ApiDialectName> {
    return this.#vapi.dialect();
  }

  apiSessionInfo(signal?: AbortSignal): Promise<ApiSessionInfo> {
    return this.#vapi.run((d) => d.sessionInfo(), signal);
  }

  /**
   * Milliseconds since the epoch on vCenter's clock (from the Date header of its latest answer;
   * our own clock until one came). Compare times vCenter reports, such as a download session's
   * `expirationTime`, with this, not with `Date.now()`: the two clocks may be minutes apart.
   */
  serverNow(): number {
    return this.#vapi.clock.now();
  }

  /** Keeps the API session alive (see ApiSession) until the returned function is called. */
  hold(): () => void {
    return this.#vapi.session.hold();
  }

  /**
   * How to fetch a prepared file's bytes. Refuses endpoints we would not trust with our session
   * token (see `dataHosts` and DataEndpointPolicy); pins the endpoint's certificate to the
   * thumbprint vCenter reported for it.
   */
  dataEndpoint(endpoint: TransferEndpoint): DataEndpoint {
    const url = this.#dataPolicy.check(endpoint.uri);
    const session = this.#vapi.session;
    return {
      url: endpoint.uri,
      dispatcher: this.#dataDispatcher(url, endpoint),
      headers: async () => ({ [SESSION_HEADER]: await session.token() }),
      unauthorized: async (headers) => {
        const stale = headers[SESSION_HEADER];
        if (stale !== undefined) await session.invalidate(stale);
      },
    };
  }

  #dataDispatcher(url: URL, endpoint: TransferEndpoint): Dispatcher {
    const pinned = url.protocol === 'https:' && endpoint.sslCertificateThumbprint && this.#options.verifyEndpointThumbprint !== false;
    const pin = pinned ? endpointPin(endpoint) : undefined;
    if (pin === undefined && url.origin === this.#origin) return this.#dataAgent;
    // Another host or port, or a pinned certificate: the vCenter's own pin (if any) does not apply there.
    const key = pin ?? '';
    let agent = this.#otherAgents.get(key);
    if (!agent) {
      const tls: TlsOptions = { ...this.#options.tls };
      delete tls.thumbprint;
      if (pin !== undefined) tls.thumbprint = pin;
      agent = this.#otherAgentFactory(tls);
      this.#otherAgents.set(key, agent);
    }
    return agent;
  }

  /** Logs out of vCenter and closes every connection. */
  async close(): Promise<void> {
    await this.#vapi.session.close();
    await Promise.all([this.#apiAgent, this.#dataAgent, ...this.#otherAgents.values()].map((a) => a.close()));
  }
}

/** vCenter vouched for the endpoint with a thumbprint that is none: its answer is broken, and retrying reads the same. */
function endpointPin(endpoint: TransferEndpoint): string {
  try {
    return normalizeThumbprint(endpoint.sslCertificateThumbprint!);
  } catch (err) {
    throw new VapiProtocolError(
      'file.download_endpoint',
      `download endpoint ${redactUri(endpoint.uri)} has a malformed ssl_certificate_thumbprint ` +
        `"${endpoint.sslCertificateThumbprint!.slice(0, 100)}" (expected SHA-1 or SHA-256 hex)`,
      { cause: err },
    );
  }
}
