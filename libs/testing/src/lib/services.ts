/** The six Keelson services and their local ports (ARCHITECTURE.md). */
export const SERVICES = [
  { name: 'gateway', port: 8080, dependencies: ['redis'] },
  { name: 'auth', port: 3001, dependencies: ['postgres', 'redis', 'kafka'] },
  { name: 'orders', port: 3002, dependencies: ['postgres', 'redis', 'kafka'] },
  { name: 'replay', port: 3003, dependencies: ['postgres', 'kafka'] },
  { name: 'cache-invalidator', port: 3004, dependencies: ['postgres', 'redis', 'kafka'] },
  { name: 'benchmark', port: 3005, dependencies: ['postgres'] },
] as const;

export type ServiceName = (typeof SERVICES)[number]['name'];
