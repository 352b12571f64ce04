import { z } from 'zod';
import { baseConfigSchema, kafkaConfigSchema, postgresConfigSchema } from './service-config';
import { ConfigError, loadConfig, redactConfig } from './load-config';

const sut = baseConfigSchema(3002).extend(postgresConfigSchema.shape).extend(kafkaConfigSchema.shape);

describe('loadConfig', () => {
  it('applies defaults and coerces types', () => {
    const config = loadConfig(sut, {});
    expect(config.PORT).toBe(3002);
    expect(config.DATABASE_PORT).toBe(5432);
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(config.OTEL_TRACES_EXPORTER).toBe('none');
  });

  it('names every bad variable and the value it got', () => {
    expect(() => loadConfig(sut, { PORT: 'abc', KAFKA_BROKERS: 'nohostport' })).toThrow(ConfigError);
    try {
      loadConfig(sut, { PORT: 'abc', KAFKA_BROKERS: 'nohostport' });
    } catch (error) {
      const message = (error as ConfigError).message;
      expect(message).toContain('PORT');
      expect(message).toContain('"abc"');
      expect(message).toContain('KAFKA_BROKERS');
    }
  });

  it('never echoes a secret value, even when it is invalid', () => {
    const schema = z.object({ DATABASE_PASSWORD: postgresConfigSchema.shape.DATABASE_PASSWORD });
    expect(() => loadConfig(schema, { DATABASE_PASSWORD: '' })).toThrow(/DATABASE_PASSWORD/);
    expect(() => loadConfig(schema, { DATABASE_PASSWORD: '' })).not.toThrow(/got/);
  });

  it('redacts secrets for logging and keeps the rest', () => {
    const config = loadConfig(sut, { DATABASE_PASSWORD: 's3cret', PORT: '4000' });
    const shown = redactConfig(sut, config);
    expect(shown.DATABASE_PASSWORD).toBe('[redacted]');
    expect(shown.PORT).toBe(4000);
    expect(JSON.stringify(shown)).not.toContain('s3cret');
  });

  it('rejects a port out of range and an unknown exporter', () => {
    expect(() => loadConfig(sut, { PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig(sut, { OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER/);
  });
});
