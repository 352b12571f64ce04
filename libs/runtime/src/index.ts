export { runService, type ServiceDefinition } from './lib/run-service';
export {
  DomainError,
  ProblemDetailsFilter,
  PROBLEM_CONTENT_TYPE,
  RequestValidationError,
  toProblem,
  type ProblemDetails,
} from './lib/problem-details';
export { globalValidationPipe } from './lib/validation';
export { platformModules, type PlatformOptions } from './lib/platform-modules';
export { migrateService, type MigrationPlan } from './lib/migrate-service';
export { etagOf, expectedVersion, IdempotencyKey, IfMatch, sendOutcome } from './lib/http-safety';
