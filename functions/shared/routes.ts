/**
 * HTTP API v1: every route, and which function serves it. The CDK stack creates one
 * API Gateway route per entry; the local server matches requests against the same
 * table, so both expose exactly the same API.
 */
import { MethodNotAllowedError, RouteNotFoundError, type StrataError } from '../../lib/core/errors.js';

export type FunctionName = 'append' | 'read';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** API Gateway path template, e.g. `/v1/topics/{topic}`. */
  path: string;
  fn: FunctionName;
}

export const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/v1/topics', fn: 'append' },
  { method: 'GET', path: '/v1/topics', fn: 'read' },
  { method: 'GET', path: '/v1/topics/{topic}', fn: 'read' },
  { method: 'PATCH', path: '/v1/topics/{topic}', fn: 'append' },
  { method: 'DELETE', path: '/v1/topics/{topic}', fn: 'append' },
  { method: 'POST', path: '/v1/topics/{topic}/records', fn: 'append' },
  { method: 'POST', path: '/v1/topics/{topic}/partitions/{partition}/records', fn: 'append' },
  { method: 'GET', path: '/v1/topics/{topic}/partitions/{partition}/records', fn: 'read' },
  { method: 'GET', path: '/v1/topics/{topic}/partitions/{partition}/offsets', fn: 'read' },
  { method: 'GET', path: '/v1/groups/{group}/offsets', fn: 'read' },
  { method: 'PUT', path: '/v1/groups/{group}/offsets', fn: 'append' },
  { method: 'GET', path: '/v1/groups/{group}', fn: 'read' },
  { method: 'POST', path: '/v1/groups/{group}/members', fn: 'append' },
  { method: 'POST', path: '/v1/groups/{group}/members/{memberId}/heartbeat', fn: 'append' },
  { method: 'DELETE', path: '/v1/groups/{group}/members/{memberId}', fn: 'append' },
  { method: 'GET', path: '/v1/push', fn: 'read' },
];

/** `METHOD /path/{param}`: API Gateway's routeKey. */
export function routeKey(route: Route): string {
  return `${route.method} ${route.path}`;
}

export interface RouteMatch {
  route: Route;
  pathParameters: Record<string, string>;
}

/**
 * Finds the route of a request. Returns `{ allowed }` when the path exists but not for
 * this method (405), and undefined when no route has this path (404).
 */
export function matchRoute(method: string, path: string): RouteMatch | { allowed: string[] } | undefined {
  const segments = path.split('/');
  const allowed: string[] = [];
  for (const route of ROUTES) {
    const params = matchPath(route.path.split('/'), segments);
    if (!params) continue;
    if (route.method === method) return { route, pathParameters: params };
    allowed.push(route.method);
  }
  return allowed.length > 0 ? { allowed } : undefined;
}

/**
 * The error for a request that no route serves: 405 METHOD_NOT_ALLOWED (with the
 * allowed methods) when the path exists, else 404 ROUTE_NOT_FOUND. The local server
 * answers with it, and so do the functions for API Gateway's `$default` route.
 */
export function unmatchedRouteError(method: string, path: string): StrataError {
  const match = matchRoute(method, path);
  if (match && 'allowed' in match) {
    return new MethodNotAllowedError(method, path, match.allowed);
  }
  return new RouteNotFoundError(method, path);
}

function matchPath(template: string[], segments: string[]): Record<string, string> | undefined {
  if (template.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i]!;
    const s = segments[i]!;
    if (t.startsWith('{') && t.endsWith('}')) {
      if (s === '') return undefined;
      let value: string;
      try {
        value = decodeURIComponent(s);
      } catch {
        return undefined;
      }
      params[t.slice(1, -1)] = value;
    } else if (t !== s) return undefined;
  }
  return params;
}
