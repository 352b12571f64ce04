export { ConfigError, loadConfig, redactConfig, secret } from './lib/load-config';
export { flag, hostPorts, logLevel, millis, port } from './lib/fields';
export {
  baseConfigSchema,
  healthConfigSchema,
  kafkaConfigSchema,
  postgresConfigSchema,
  redisConfigSchema,
  tracingConfigSchema,
  type BaseConfig,
  type KafkaConfig,
  type PostgresConfig,
  type RedisConfig,
} from './lib/service-config';
