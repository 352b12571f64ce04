export { HealthModule, ReadinessState, type HealthOptions } from './lib/health.module';
export type { Dependency } from './lib/dependency-probes';
