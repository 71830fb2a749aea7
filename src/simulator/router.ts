import type { IncomingHttpHeaders } from 'node:http';
import type { ApiSession } from './auth.ts';
import type { OperationName } from './operation-names.ts';

export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or undefined for an empty body. */
  body: unknown;
}

interface RouteBase {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path template; `{name}` matches one segment, decoded. */
  path: string;
  /** The value of the dialect's action parameter (`~action` on /rest, `action` on /api) that selects this route. */
  action?: string;
  /** A query parameter whose presence selects this route over its sibling without it. */
  when?: string;
  op: OperationName;
  /** /api answers 201 (a create) instead of 200. */
  created?: boolean;
}

/** Handlers return the operation's value, or undefined for a void operation. */
export type Route = RouteBase &
  (
    | { auth: 'basic'; handle(ctx: RouteContext): unknown }
    | { auth?: 'session'; handle(ctx: RouteContext, session: ApiSession): unknown }
  );

export interface CompiledRoute {
  route: Route;
  re: RegExp;
  names: string[];
}

export function compileRoutes(routes: Route[]): CompiledRoute[] {
  return routes.map((route) => {
    const names: string[] = [];
    const source = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    return { route, re: new RegExp(`^${source}$`), names };
  });
}

/**
 * The route for a request, as the spec keys operations: path, then the action parameter, then the
 * presence of a selecting query parameter. Earlier routes win, so literal paths are listed before
 * templates that would also match them (`item/download-session` before `item/{id}`).
 */
export function matchRoute(
  routes: CompiledRoute[],
  method: string,
  url: URL,
  actionKey: string,
): { route: Route; params: Record<string, string> } | undefined {
  const action = url.searchParams.get(actionKey) ?? undefined;
  let fallback: { route: Route; params: Record<string, string> } | undefined;
  for (const c of routes) {
    if (c.route.method !== method || c.route.action !== action) continue;
    const m = c.re.exec(url.pathname);
    if (!m) continue;
    const params: Record<string, string> = {};
    try {
      c.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
    } catch {
      continue;
    }
    if (c.route.when === undefined) fallback ??= { route: c.route, params };
    else if (url.searchParams.has(c.route.when)) return { route: c.route, params };
  }
  return fallback;
}
