export { installGateway, type GatewaySettings } from './lib/gateway';
export { GATEWAY_ROUTES, accessFor, routeFor, type GatewayRoute, type RouteAccess, type UpstreamName } from './lib/route-table';
export type { RateLimitSettings } from './lib/rate-limits';
export type { ResilienceSettings } from './lib/upstream';
export { createResponseValidator, type ResponseValidator } from './lib/openapi/response-validator';
export type { OpenApiDocument } from './lib/openapi/merge';
