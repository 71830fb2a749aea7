import { randomBytes, timingSafeEqual } from 'node:crypto';
import { VapiError } from './vapi-errors.ts';

/** A logged-in API session (what `vmware-api-session-id` names). */
export interface ApiSession {
  token: string;
  user: string;
  createdAt: Date;
  lastAccessedAt: Date;
}

function unauthenticated(text: string): VapiError {
  return new VapiError('unauthenticated', text, { id: 'com.vmware.vapi.endpoint.method.authentication.required' });
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * API sessions: created by Basic-auth login, ended by logout, by idle timeout (checked on use) or by
 * a fault that invalidates them all, as a vCenter restart or token revocation would.
 */
export class ApiSessions {
  readonly #sessions = new Map<string, ApiSession>();
  readonly #users: Readonly<Record<string, string>>;
  readonly #idleTimeoutMs: number;

  constructor(users: Readonly<Record<string, string>>, idleTimeoutMs: number) {
    this.#users = users;
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  login(authorization: string | undefined): ApiSession {
    const m = /^basic\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) throw unauthenticated('Authentication required: send HTTP Basic credentials to create a session.');
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? decoded : decoded.slice(0, colon);
    const password = colon < 0 ? '' : decoded.slice(colon + 1);
    const expected = Object.hasOwn(this.#users, user) ? this.#users[user] : undefined;
    if (expected === undefined || !sameText(password, expected)) throw unauthenticated('Invalid user name or password.');
    const now = new Date();
    const session: ApiSession = { token: randomBytes(16).toString('hex'), user, createdAt: now, lastAccessedAt: now };
    this.#sessions.set(session.token, session);
    return session;
  }

  /** The live session the header names, touched; unauthenticated otherwise. */
  authenticate(token: string | undefined): ApiSession {
    const session = token ? this.#sessions.get(token) : undefined;
    if (!session) throw unauthenticated('Authentication required.');
    const now = Date.now();
    if (now - session.lastAccessedAt.getTime() > this.#idleTimeoutMs) {
      this.#sessions.delete(session.token);
      throw unauthenticated('The session has expired.');
    }
    session.lastAccessedAt = new Date(now);
    return session;
  }

  logout(token: string): void {
    this.#sessions.delete(token);
  }

  invalidateAll(): void {
    this.#sessions.clear();
  }

  /** Sessions not yet idle past the timeout. */
  liveCount(): number {
    const now = Date.now();
    let n = 0;
    for (const s of this.#sessions.values()) if (now - s.lastAccessedAt.getTime() <= this.#idleTimeoutMs) n++;
    return n;
  }
}
