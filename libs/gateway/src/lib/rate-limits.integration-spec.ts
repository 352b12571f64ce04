import { randomUUID } from 'node:crypto';
import { createRedis } from '@keelson/cache';
import { localStack, waitFor } from '@keelson/testing';
import type Redis from 'ioredis';
import { EdgeRateLimits } from './rate-limits';

// The edge's rate limits against the real Redis: checks of one event-loop turn are coalesced,
// and the decisions are the ones one-by-one checks would have made.
describe('EdgeRateLimits', () => {
  let redis: Redis;
  let monitor: Redis;
  const commands: string[][] = [];
  const prefix = `it-rl-${randomUUID()}`;

  beforeAll(async () => {
    redis = createRedis({ REDIS_HOST: localStack.redis.host, REDIS_PORT: localStack.redis.port, REDIS_PASSWORD: undefined }, 'rl-it');
    monitor = await createRedis(
      { REDIS_HOST: localStack.redis.host, REDIS_PORT: localStack.redis.port, REDIS_PASSWORD: undefined },
      'rl-it-monitor',
    ).monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      // Commands a client sent (scripts' inner calls are reported too: leave those out).
      if (/^(eval|echo)/i.test(args[0] ?? '') && args.some((arg) => arg.includes(prefix))) commands.push(args);
    });
  });

  afterAll(async () => {
    monitor.disconnect();
    await redis.quit();
  });

  /** Every command sent so far, once the monitor has reported them (it reports in execution order). */
  const sentSoFar = async () => {
    const marker = `${prefix}:marker:${randomUUID()}`;
    await redis.echo(marker);
    await waitFor('the monitor to catch up', () => Promise.resolve(commands.some((args) => args.includes(marker)) || undefined));
    return commands.filter((args) => /^eval/i.test(args[0] ?? ''));
  };

  it('answers a turn’s checks on one key with one Redis command, allowing exactly the budget in arrival order', async () => {
    const sut = new EdgeRateLimits(redis, { keyPrefix: `${prefix}:a`, windowSeconds: 60, perClient: 5, perIp: 1_000 });

    const decisions = await Promise.all(Array.from({ length: 8 }, () => sut.client('client-a')));

    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 4],
      [true, 3],
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
      [false, 0],
      [false, 0],
    ]);
    expect(decisions.every((d) => d.limit === 5 && d.policy === '5;w=60' && d.resetSeconds >= 1 && d.resetSeconds <= 60)).toBe(true);
    expect((await sentSoFar()).filter((args) => args.some((arg) => arg.includes(`${prefix}:a:`)))).toHaveLength(1);
    expect(Number(await redis.get(`${prefix}:a:client:client-a`))).toBe(8);
  });

  it('keeps counting across turns and keeps keys apart', async () => {
    const sut = new EdgeRateLimits(redis, { keyPrefix: `${prefix}:b`, windowSeconds: 60, perClient: 3, perIp: 2 });

    const first = await Promise.all([sut.client('one'), sut.client('one'), sut.client('two'), sut.ip('10.0.0.1')]);
    const second = await Promise.all([sut.client('one'), sut.client('one'), sut.ip('10.0.0.1'), sut.ip('10.0.0.1')]);

    expect(first.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 2],
      [true, 1],
    ]);
    expect(second.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 0],
      [false, 0],
      [true, 0],
      [false, 0],
    ]);
  });

  it('reserves places ahead on a busy key, so most checks need no Redis, and replicas sharing the budget allow exactly the limit', async () => {
    // A limit of 1,000 reserves 10 places ahead (1%).
    const settings = { keyPrefix: `${prefix}:c`, windowSeconds: 60, perClient: 1_000, perIp: 1_000 };
    const replicas = [new EdgeRateLimits(redis, settings), new EdgeRateLimits(redis, settings)];

    const seen: { replica: number; allowed: boolean; remaining: number }[] = [];
    for (let i = 0; i < 1_100; i++) {
      const replica = i % 2;
      const decision = await replicas[replica]!.client('busy');
      seen.push({ replica, allowed: decision.allowed, remaining: decision.remaining });
    }

    expect(seen.filter((d) => d.allowed)).toHaveLength(1_000);
    // Each replica's remaining budget only goes down, one place at a time within its reservations.
    for (const replica of [0, 1]) {
      const remaining = seen.filter((d) => d.replica === replica && d.allowed).map((d) => d.remaining);
      expect(remaining.every((value, i) => i === 0 || value < remaining[i - 1]!)).toBe(true);
    }
    const allowedRemaining = seen.filter((d) => d.allowed).map((d) => d.remaining);
    expect(new Set(allowedRemaining).size).toBe(1_000); // no place handed out twice
    const evals = (await sentSoFar()).filter((args) => args.some((arg) => arg.includes(`${prefix}:c:`)));
    // 1,000 allowed checks need one consume per 11; the 100 refused ones each ask Redis again.
    expect(evals.length).toBeLessThanOrEqual(1_000 / 11 + 1 + 100);
  });

  it('never uses a reservation after its window has ended', async () => {
    const sut = new EdgeRateLimits(redis, { keyPrefix: `${prefix}:d`, windowSeconds: 1, perClient: 200, perIp: 200 });
    const key = `${prefix}:d:client:windowed`;

    expect((await sut.client('windowed')).remaining).toBe(199); // and places 2–3 reserved
    expect(Number(await redis.get(key))).toBe(3);
    await waitFor('the window to end', async () => ((await redis.exists(key)) === 0 ? true : undefined));

    // A fresh window: this is its first request, not the old window's second.
    expect((await sut.client('windowed')).remaining).toBe(199);
  });
});
