import { REDIS, type Redis } from '@keelson/cache';
import { Messaging } from '@keelson/messaging';
import type { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';

export type Dependency = 'postgres' | 'redis' | 'kafka';

/** Rejects when the promise has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} did not answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One cheap round trip to the dependency; resolves with details, rejects when it is unreachable. */
export function probeFor(dependency: Dependency, moduleRef: ModuleRef): () => Promise<Record<string, unknown>> {
  switch (dependency) {
    case 'postgres': {
      const dataSource = moduleRef.get(DataSource, { strict: false });
      return async () => {
        await dataSource.query('SELECT 1');
        return {};
      };
    }
    case 'redis': {
      const redis = moduleRef.get<Redis>(REDIS, { strict: false });
      return async () => {
        if (redis.status !== 'ready') throw new Error(`connection is ${redis.status}`);
        await redis.ping();
        return {};
      };
    }
    case 'kafka': {
      const messaging = moduleRef.get(Messaging, { strict: false });
      return async () => ({ ...(await messaging.admin.probe()) });
    }
  }
}
