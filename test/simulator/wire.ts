import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type Dispatcher, request } from 'undici';

/**
 * A deliberately plain vAPI caller for the simulator's tests: raw paths of both dialects, written
 * from VMware's spec, not from cldl's client (src/vsphere), so that neither can hide the other's
 * mistake. Every call returns what came over the wire.
 */

export type Dialect = 'rest' | 'api';
export const DIALECTS: readonly Dialect[] = ['rest', 'api'];

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed JSON body, undefined if empty or not JSON. */
  json: unknown;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  token?: string | null;
  dispatcher?: Dispatcher;
}

export async function call(base: string, method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers['vmware-api-session-id'] = o.token;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(base + path, {
    method,
    headers,
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
    dispatcher: o.dispatcher,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: parseJson(text) };
}

function parseJson(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** The error_type of a vAPI error body of either dialect. */
export function errorType(r: Reply): string | undefined {
  const b = r.json as { error_type?: string; type?: string; value?: { error_type?: string } } | undefined;
  return b?.error_type ?? b?.value?.error_type;
}

/** The first message's default_message of a vAPI error body of either dialect. */
export function errorText(r: Reply): string {
  const b = r.json as { messages?: Array<{ default_message: string }>; value?: { messages?: Array<{ default_message: string }> } };
  return (b.messages ?? b.value?.messages ?? [])[0]?.default_message ?? '';
}

const REST = '/rest/com/vmware/content/library';
const API = '/api/content/library';

/**
 * Each operation in one dialect, returning the raw reply and, on success, the unwrapped value
 * (`{"value": x}` on /rest, the bare body on /api).
 */
export class VapiCaller {
  readonly base: string;
  readonly dialect: Dialect;
  token: string | null = null;
  readonly #dispatcher: Dispatcher | undefined;

  constructor(base: string, dialect: Dialect, dispatcher?: Dispatcher) {
    this.base = base;
    this.dialect = dialect;
    this.#dispatcher = dispatcher;
  }

  #send(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply> {
    return call(this.base, method, path, { body, headers, token: this.token, dispatcher: this.#dispatcher });
  }

  value(r: Reply): unknown {
    return this.dialect === 'rest' ? (r.json as { value?: unknown } | undefined)?.value : r.json;
  }

  async login(user = 'user', password = 'pass'): Promise<Reply> {
    const path = this.dialect === 'rest' ? '/rest/com/vmware/cis/session' : '/api/session';
    const r = await call(this.base, 'POST', path, {
      headers: { authorization: basic(user, password), 'vmware-use-header-authn': 'true' },
      dispatcher: this.#dispatcher,
    });
    if (r.status < 300) this.token = this.value(r) as string;
    return r;
  }

  sessionInfo(): Promise<Reply> {
    return this.dialect === 'rest' ? this.#send('POST', '/rest/com/vmware/cis/session?~action=get') : this.#send('GET', '/api/session');
  }

  logout(): Promise<Reply> {
    return this.#send('DELETE', this.dialect === 'rest' ? '/rest/com/vmware/cis/session' : '/api/session');
  }

  libraries(): Promise<Reply> {
    return this.#send('GET', this.dialect === 'rest' ? REST : API);
  }

  findLibraries(spec: { name?: string; type?: string }): Promise<Reply> {
    return this.dialect === 'rest' ? this.#send('POST', `${REST}?~action=find`, { spec }) : this.#send('POST', `${API}?action=find`, spec);
  }

  items(libraryId: string): Promise<Reply> {
    const q = `library_id=${encodeURIComponent(libraryId)}`;
    return this.#send('GET', this.dialect === 'rest' ? `${REST}/item?${q}` : `${API}/item?${q}`);
  }

  item(id: string): Promise<Reply> {
    return this.#send('GET', this.dialect === 'rest' ? `${REST}/item/id:${encodeURIComponent(id)}` : `${API}/item/${encodeURIComponent(id)}`);
  }

  itemFiles(id: string): Promise<Reply> {
    return this.#send(
      'GET',
      this.dialect === 'rest' ? `${REST}/item/file?library_item_id=${encodeURIComponent(id)}` : `${API}/item/${encodeURIComponent(id)}/file`,
    );
  }

  itemFile(id: string, name: string): Promise<Reply> {
    return this.dialect === 'rest'
      ? this.#send('POST', `${REST}/item/file/id:${encodeURIComponent(id)}?~action=get`, { name })
      : this.#send('GET', `${API}/item/${encodeURIComponent(id)}/file?name=${encodeURIComponent(name)}`);
  }

  sync(id: string, force: boolean): Promise<Reply> {
    return this.dialect === 'rest'
      ? this.#send('POST', `${REST}/subscribed-item/id:${encodeURIComponent(id)}?~action=sync`, { force_sync_content: force })
      : this.#send('POST', `${API}/subscribed-item/${encodeURIComponent(id)}?action=sync`, { force_sync_content: force });
  }

  create(itemId: string, clientToken?: string): Promise<Reply> {
    if (this.dialect === 'rest') {
      return this.#send('POST', `${REST}/item/download-session`, {
        ...(clientToken !== undefined && { client_token: clientToken }),
        create_spec: { library_item_id: itemId },
      });
    }
    const q = clientToken === undefined ? '' : `?client_token=${encodeURIComponent(clientToken)}`;
    return this.#send('POST', `${API}/item/download-session${q}`, { library_item_id: itemId });
  }

  /** Creates a session and returns its id, failing the test if create fails. */
  async createId(itemId: string, clientToken?: string): Promise<string> {
    const r = await this.create(itemId, clientToken);
    if (r.status >= 300) throw new Error(`create failed: ${r.status} ${r.text}`);
    return this.value(r) as string;
  }

  list(itemId?: string): Promise<Reply> {
    const q = itemId === undefined ? '' : `?library_item_id=${encodeURIComponent(itemId)}`;
    return this.#send('GET', `${this.dialect === 'rest' ? REST : API}/item/download-session${q}`);
  }

  #sessionPath(id: string): string {
    return this.dialect === 'rest' ? `${REST}/item/download-session/id:${encodeURIComponent(id)}` : `${API}/item/download-session/${encodeURIComponent(id)}`;
  }

  get(id: string): Promise<Reply> {
    return this.#send('GET', this.#sessionPath(id));
  }

  keepAlive(id: string, progress?: number): Promise<Reply> {
    const a = this.dialect === 'rest' ? '~action' : 'action';
    return this.#send('POST', `${this.#sessionPath(id)}?${a}=keep-alive`, progress === undefined ? undefined : { progress });
  }

  cancel(id: string): Promise<Reply> {
    return this.#send('POST', `${this.#sessionPath(id)}?${this.dialect === 'rest' ? '~action' : 'action'}=cancel`);
  }

  fail(id: string, message: string): Promise<Reply> {
    return this.#send('POST', `${this.#sessionPath(id)}?${this.dialect === 'rest' ? '~action' : 'action'}=fail`, { client_error_message: message });
  }

  delete(id: string): Promise<Reply> {
    return this.#send('DELETE', this.#sessionPath(id));
  }

  files(id: string): Promise<Reply> {
    return this.dialect === 'rest'
      ? this.#send('GET', `${REST}/item/downloadsession/file?download_session_id=${encodeURIComponent(id)}`)
      : this.#send('GET', `${API}/item/download-session/${encodeURIComponent(id)}/file`);
  }

  file(id: string, name: string): Promise<Reply> {
    return this.dialect === 'rest'
      ? this.#send('POST', `${REST}/item/downloadsession/file/id:${encodeURIComponent(id)}?~action=get`, { file_name: name })
      : this.#send('GET', `${API}/item/download-session/${encodeURIComponent(id)}/file?file_name=${encodeURIComponent(name)}`);
  }

  prepare(id: string, name: string, endpointType = 'HTTPS'): Promise<Reply> {
    const body = { file_name: name, endpoint_type: endpointType };
    return this.dialect === 'rest'
      ? this.#send('POST', `${REST}/item/downloadsession/file/id:${encodeURIComponent(id)}?~action=prepare`, body)
      : this.#send('POST', `${API}/item/download-session/${encodeURIComponent(id)}/file?action=prepare`, body);
  }

  /** Polls File.get until the file leaves the preparing states; returns its last File.Info. */
  async waitPrepared(id: string, name: string, timeoutMs = 5000): Promise<FileInfo> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = this.value(await this.file(id, name)) as FileInfo;
      if (info.status === 'PREPARED' || info.status === 'ERROR') return info;
      if (Date.now() > deadline) throw new Error(`file ${name} still ${info.status}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Creates a session, prepares one file and returns the session id and the file's download URI. */
  async preparedFile(itemId: string, name: string): Promise<{ session: string; uri: string; info: FileInfo }> {
    const session = await this.createId(itemId);
    const p = await this.prepare(session, name);
    if (p.status !== 200) throw new Error(`prepare failed: ${p.status} ${p.text}`);
    const info = await this.waitPrepared(session, name);
    if (!info.download_endpoint) throw new Error(`file ${name} ended ${info.status}`);
    return { session, uri: info.download_endpoint.uri, info };
  }

  /** GET of a download URI with this caller's session. */
  async download(uri: string, headers: Record<string, string> = {}): Promise<Download> {
    return download(uri, { ...headers, ...(this.token && { 'vmware-api-session-id': this.token }) }, this.#dispatcher);
  }
}

export interface FileInfo {
  name: string;
  size?: number;
  bytes_transferred: number;
  status: string;
  download_endpoint?: { uri: string; ssl_certificate_thumbprint?: string };
  checksum_info?: { algorithm?: string; checksum: string };
  error_message?: { id: string; default_message: string; args: string[] };
}

export interface Download {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Bytes received before the body ended or broke. */
  bytes: number;
  sha1: string;
  body: Buffer | undefined;
  /** The error that cut the body short, if one did. */
  error: Error | undefined;
}

/**
 * Reads a whole response body, hashing it, keeping it only if small: tests pull files of up to a
 * few hundred MiB.
 */
export async function download(uri: string, headers: Record<string, string>, dispatcher?: Dispatcher, keepUpTo = 16 * 1024 * 1024): Promise<Download> {
  const res = await request(uri, { headers, dispatcher });
  const h = createHash('sha1');
  const kept: Buffer[] = [];
  let bytes = 0;
  let error: Error | undefined;
  try {
    for await (const chunk of res.body) {
      const b = chunk as Buffer;
      h.update(b);
      bytes += b.length;
      if (bytes <= keepUpTo) kept.push(b);
    }
  } catch (err) {
    error = err as Error;
  }
  return { status: res.statusCode, headers: res.headers, bytes, sha1: h.digest('hex'), body: bytes <= keepUpTo ? Buffer.concat(kept) : undefined, error };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function sha1(b: Buffer): string {
  return createHash('sha1').update(b).digest('hex');
}

/** Polls until fn returns a truthy value (no fixed sleeps in tests). */
export async function until<T>(fn: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as Exclude<T, false | 0 | '' | null | undefined>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
