export { ReplayModule } from './lib/replay.module';
export { ReplayJobs, ReplayError, type ReplayJobView, type ReplayRequest, type ReplaySettings } from './lib/replay-jobs';
export { DebugSessions, type DebugRecord, type DebugSessionView } from './lib/debug-sessions';
export { planRange, readRange, type PartitionPlan, type RangeBatch, type RangePlan, type RangeRecord } from './lib/range';
export { replayMigrations } from './lib/migrations';
