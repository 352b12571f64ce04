export { waitFor } from './lib/wait-for';
export { localPostgresConfig, localStack, repoRoot, stack, type StackComponent } from './lib/local-stack';
export { freePort, ServiceProcess, type ExitResult } from './lib/service-process';
export { SERVICES, type ServiceName } from './lib/services';
export { seededRandom } from './lib/seeded-random';
