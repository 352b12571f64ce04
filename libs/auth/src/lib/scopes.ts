/** The platform's scopes (the gateway's README lists which route needs which). */
export const PLATFORM_SCOPES = ['orders:read', 'orders:write', 'replay:admin', 'cache:admin', 'bench:run', 'auth:admin'] as const;

export type PlatformScope = (typeof PLATFORM_SCOPES)[number];
