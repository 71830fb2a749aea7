import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiSessions } from './auth.ts';
import type { CallLog } from './call-log.ts';
import type { Faults } from './faults.ts';
import { readJsonBody, sendEmpty, sendJson } from './http-json.ts';
import type { OperationName } from './operation-names.ts';
import { sendPaddedJson } from './padded-json.ts';
import { type CompiledRoute, matchRoute, type RouteContext } from './router.ts';
import { type Dialect, VapiError } from './vapi-errors.ts';

export interface VapiDispatchDeps {
  routes: Record<Dialect, CompiledRoute[]>;
  faults: Faults;
  apiSessions: ApiSessions;
  log: CallLog;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * One vAPI call, in vCenter's order: route (unknown → OPERATION_NOT_FOUND), count, injected fault,
 * body, session, operation; then the dialect's envelope. Anything else under any path answers a
 * vAPI error as JSON, never a plain-text or HTML page, since clients parse error bodies.
 */
export function vapiDispatcher(d: VapiDispatchDeps): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  /** A body as it is, or padded by a huge-json fault on this operation. */
  async function send(res: ServerResponse, op: OperationName | undefined, status: number, body: unknown): Promise<void> {
    const padTo = op === undefined ? undefined : d.faults.hugeJson(op);
    if (padTo === undefined) sendJson(res, status, body);
    else await sendPaddedJson(res, status, body, padTo);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, dialect: Dialect, matched: { op?: OperationName }): Promise<void> {
    const vapiPath = url.pathname.startsWith('/rest/') || url.pathname.startsWith('/api/');
    const m = vapiPath ? matchRoute(d.routes[dialect], req.method ?? '', url, dialect === 'rest' ? '~action' : 'action') : undefined;
    if (!m) {
      throw new VapiError('operation_not_found', `No operation ${req.method} ${url.pathname}${url.search}.`, {
        id: 'com.vmware.vapi.rest.unknownOperation',
        args: [`${req.method} ${url.pathname}`],
      });
    }
    const { route, params } = m;
    matched.op = route.op;
    d.log.count(route.op);
    const injected = d.faults.errorFor(route.op);
    if (injected) throw injected;
    const ctx: RouteContext = { params, query: url.searchParams, headers: req.headers, body: await readJsonBody(req) };
    const value: unknown = await (route.auth === 'basic'
      ? route.handle(ctx)
      : route.handle(ctx, d.apiSessions.authenticate(header(req, 'vmware-api-session-id'))));
    if (dialect === 'rest') {
      if (value === undefined) sendEmpty(res, 200);
      else await send(res, route.op, 200, { value });
    } else if (value === undefined) sendEmpty(res, 204);
    else await send(res, route.op, route.created ? 201 : 200, value);
  }

  return async (req, res, url) => {
    const dialect: Dialect = url.pathname.startsWith('/rest/') ? 'rest' : 'api';
    // The operation, once routed: a huge-json fault pads its errors too.
    const matched: { op?: OperationName } = {};
    try {
      await handle(req, res, url, dialect, matched);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // A simulator bug still answers as vCenter would: a vAPI error.
      const e = err instanceof VapiError ? err : new VapiError('internal_server_error', `Simulator error: ${err instanceof Error ? err.message : String(err)}`);
      await send(res, matched.op, e.statusFor(dialect), e.bodyFor(dialect));
    }
  };
}
