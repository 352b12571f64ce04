import type { KafkaConfig, PostgresConfig } from '@keelson/config';
import { runMigrations } from '@keelson/database';
import { createKafka, TopicAdmin, topicSpecs, type TopicContract } from '@keelson/messaging';

export interface MigrationPlan {
  name: string;
  /** The service's schema and its migrations, applied in order. */
  postgres?: { schema: string; config: PostgresConfig; migrations: (new () => unknown)[] };
  /**
   * The topics this service produces, and those it consumes (so it can start before their
   * producer ever ran); each is created with its dead-letter topic, which consumers write to.
   */
  kafka?: { config: KafkaConfig; produces: readonly TopicContract[]; consumes?: readonly TopicContract[] };
}

/** What `main.js migrate` does: database migrations, then topic provisioning. Idempotent. */
export async function migrateService(plan: MigrationPlan): Promise<Record<string, unknown>> {
  const report: Record<string, unknown> = {};
  if (plan.postgres) {
    const result = await runMigrations({
      schema: plan.postgres.schema,
      config: plan.postgres.config,
      migrations: plan.postgres.migrations,
      applicationName: `${plan.name}-migrate`,
    });
    report.schema = result.schema;
    report.migrationsApplied = result.applied;
  }
  const topics = plan.kafka ? [...new Set([...plan.kafka.produces, ...(plan.kafka.consumes ?? [])])] : [];
  if (plan.kafka && topics.length > 0) {
    const admin = new TopicAdmin(
      createKafka({
        clientId: `${plan.name}-migrate`,
        brokers: plan.kafka.config.KAFKA_BROKERS,
        connectionTimeoutMs: plan.kafka.config.KAFKA_CONNECTION_TIMEOUT_MS,
      }),
    );
    try {
      report.topicsCreated = await admin.ensureTopics(topicSpecs(topics));
    } finally {
      await admin.disconnect();
    }
  }
  return report;
}
