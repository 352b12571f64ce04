import { randomUUID } from 'node:crypto';
import { dataSourceOptions, pendingSchemaChanges, runMigrations } from '@keelson/database';
import { platformRegistry } from '@keelson/messaging';
import { OutboxRecord, OutboxWriter } from '@keelson/outbox';
import { localPostgresConfig } from '@keelson/testing';
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
import { DataSource } from 'typeorm';
import { authOutboxRoutes } from '../auth-domain.module';
import { authMigrations } from '../migrations';
import { KeyRing } from './key-ring';
import type { KeyPolicy } from './key-policy';
import { SigningKey } from './signing-key.entity';

const minute = 60_000;
const policy: KeyPolicy = { rotationIntervalMs: 60 * minute, jwksCacheMs: 5 * minute, verifyGraceMs: 16 * minute };

describe('KeyRing against PostgreSQL', () => {
  const schema = `it_auth_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const config = localPostgresConfig(6);
  const options = { schema, config, entities: [SigningKey, OutboxRecord], migrations: authMigrations, applicationName: 'auth-it' };
  const dataSource = new DataSource(dataSourceOptions(options));
  let now = new Date('2026-11-25T00:00:00Z');
  const advance = (minutes: number) => (now = new Date(now.getTime() + minutes * minute));
  const ring = () => new KeyRing(dataSource, new OutboxWriter(schema, authOutboxRoutes, platformRegistry()), policy, () => now);

  /** Signs a token with the key that signs now, as the token endpoint will. */
  async function sign(sut: KeyRing): Promise<string> {
    const current = await sut.signingKey();
    if (!current) throw new Error('no signing key');
    return new SignJWT({ scope: 'orders:read' })
      .setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'at+jwt' })
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .setExpirationTime(Math.floor(now.getTime() / 1000) + 900)
      .sign(current.key);
  }

  /** Verifies as a client holding the JWKS it fetched at `fetchedAt` would. */
  const verifyWith = (jwks: Awaited<ReturnType<KeyRing['published']>>, token: string) =>
    jwtVerify(token, createLocalJWKSet({ keys: jwks }), { currentDate: now, typ: 'at+jwt' });

  beforeAll(async () => {
    await runMigrations(options);
    await dataSource.initialize();
  });

  afterAll(async () => {
    await dataSource.query(`DROP SCHEMA "${schema}" CASCADE`);
    await dataSource.destroy();
  });

  it('rotates with zero downtime: publish first, sign later, keep the retired key until its tokens expire', async () => {
    const sut = ring();
    const first = await sut.rotate();
    expect(first).toMatchObject({ created: expect.any(String) as unknown });
    const [initial] = await sut.published();
    if (!initial) throw new Error('no key published');
    expect(initial.kid).toBe(await calculateJwkThumbprint(initial, 'sha256'));
    expect(initial).not.toHaveProperty('d'); // never the private part

    advance(54);
    expect(await sut.rotate()).toEqual({ deleted: 0 });
    advance(1); // one JWKS cache lifetime before rotation
    const second = await sut.rotate();
    if (second === 'locked') throw new Error('unexpectedly locked');
    expect(second.retiring).toBe(initial.kid);
    const cachedByClients = await sut.published(); // what a client fetches now and keeps for 5 minutes
    expect(cachedByClients.map((k) => k.kid)).toEqual([second.created, initial.kid]);
    expect((await sut.signingKey())?.kid).toBe(initial.kid); // the new key does not sign yet

    advance(4);
    const oldToken = await sign(sut); // signed by the old key a minute before it retires
    advance(1); // the successor signs now; clients still hold the JWKS fetched 5 minutes ago
    const newToken = await sign(sut);
    expect((await verifyWith(cachedByClients, newToken)).protectedHeader.kid).toBe(second.created);
    expect((await verifyWith(cachedByClients, oldToken)).payload.scope).toBe('orders:read'); // old tokens still verify

    advance(16); // the access-token lifetime plus skew after retirement
    const third = await sut.rotate();
    expect(third).toEqual({ deleted: 1 });
    expect((await sut.published()).map((k) => k.kid)).toEqual([second.created]);

    const events = await dataSource.query<{ type: string; payload: { data: { activeKid: string; retiredKid: string | null } } }[]>(
      `SELECT type, payload FROM "${schema}".outbox ORDER BY position`,
    );
    expect(events.map((e) => [e.type, e.payload.data])).toEqual([
      ['auth.key.rotated.v1', { activeKid: initial.kid, retiredKid: null }],
      ['auth.key.rotated.v1', { activeKid: second.created, retiredKid: initial.kid }],
    ]);
  });

  it('lets exactly one of several replicas rotate', async () => {
    advance(55); // the current key is due
    const results = await Promise.all([ring().rotate(), ring().rotate(), ring().rotate()]);
    const acted = results.filter((r) => r !== 'locked' && r.created !== undefined);
    expect(acted).toHaveLength(1);
    expect(await dataSource.getRepository(SigningKey).count()).toBe(2);
  });

  it('has migrations that match its entities', async () => {
    expect(await pendingSchemaChanges({ ...options, schema: `${schema}_x` })).toEqual([]);
  });
});
