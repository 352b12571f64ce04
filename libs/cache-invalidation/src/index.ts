export { CacheInvalidationModule, INVALIDATED_TOPICS, type CacheInvalidationOptions } from './lib/cache-invalidation.module';
export { EventInvalidator, type CacheEvictions, type CachedValueReader, type StaleCheckOptions } from './lib/invalidator';
export { ChangeListener, CHANGES_CHANNEL } from './lib/change-listener';
export {
  INVALIDATION_RULES,
  invalidationsFor,
  invalidationForRow,
  type Invalidation,
  type InvalidationRule,
  type RowChange,
} from './lib/rules';
export { Warmer, type HotKeys, type WarmerOptions } from './lib/warmer';
