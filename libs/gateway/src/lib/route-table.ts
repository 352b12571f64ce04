/** The services behind the gateway. */
export type UpstreamName = 'auth' | 'orders' | 'replay' | 'cache-invalidator' | 'benchmark';

export type RouteAccess = { public: true } | { public?: false; scopes: readonly string[] };

/** What a request body on a route may be. */
export type BodyKind = 'json' | 'form';

export interface GatewayRoute {
  /** Path prefix the route covers (segment boundary: `/api/v1/orders` covers `/api/v1/orders/42`). */
  prefix: string;
  upstream: UpstreamName;
  /** Access for reads (GET, HEAD) and for writes (everything else). */
  read: RouteAccess;
  write: RouteAccess;
  body: BodyKind;
}

const scoped = (...scopes: string[]): RouteAccess => ({ scopes });
const open: RouteAccess = { public: true };

const orders = (prefix: string): GatewayRoute => ({
  prefix,
  upstream: 'orders',
  read: scoped('orders:read'),
  write: scoped('orders:write'),
  body: 'json',
});

/**
 * Every public path and what it takes. The token, introspection and revocation endpoints
 * authenticate the client themselves (RFC 6749/7662/7009), so the gateway lets them through
 * without a bearer token; the README's table is this list.
 */
export const GATEWAY_ROUTES: readonly GatewayRoute[] = [
  { prefix: '/.well-known/jwks.json', upstream: 'auth', read: open, write: open, body: 'json' },
  { prefix: '/.well-known/openid-configuration', upstream: 'auth', read: open, write: open, body: 'json' },
  { prefix: '/api/v1/auth/token', upstream: 'auth', read: open, write: open, body: 'form' },
  { prefix: '/api/v1/auth/introspect', upstream: 'auth', read: open, write: open, body: 'form' },
  { prefix: '/api/v1/auth/revoke', upstream: 'auth', read: open, write: open, body: 'form' },
  { prefix: '/api/v1/auth/clients', upstream: 'auth', read: scoped('auth:admin'), write: scoped('auth:admin'), body: 'json' },
  { prefix: '/api/v1/auth/users', upstream: 'auth', read: scoped('auth:admin'), write: scoped('auth:admin'), body: 'json' },
  orders('/api/v1/customers'),
  orders('/api/v1/products'),
  orders('/api/v1/orders'),
  orders('/api/v1/payments'),
  orders('/api/v1/invoices'),
  { prefix: '/api/v1/event-replay', upstream: 'replay', read: scoped('replay:admin'), write: scoped('replay:admin'), body: 'json' },
  { prefix: '/api/v1/cache', upstream: 'cache-invalidator', read: scoped('cache:admin'), write: scoped('cache:admin'), body: 'json' },
  { prefix: '/api/v1/benchmarks', upstream: 'benchmark', read: scoped('bench:run'), write: scoped('bench:run'), body: 'json' },
];

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The route a path falls under (longest prefix on a segment boundary), or undefined. */
export function routeFor(path: string, routes: readonly GatewayRoute[] = GATEWAY_ROUTES): GatewayRoute | undefined {
  let best: GatewayRoute | undefined;
  for (const route of routes) {
    const covers = path === route.prefix || path.startsWith(`${route.prefix}/`);
    if (covers && (!best || route.prefix.length > best.prefix.length)) best = route;
  }
  return best;
}

export function accessFor(route: GatewayRoute, method: string): RouteAccess {
  return READS.has(method.toUpperCase()) ? route.read : route.write;
}

/** Methods a retry may repeat (RFC 9110 §9.2.2); POST and PATCH are never retried. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
