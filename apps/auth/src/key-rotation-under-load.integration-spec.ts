import type { IssuedClient } from '@keelson/auth';
import { AccessTokenVerifier } from '@keelson/auth-client';
import { freePort, ServiceProcess } from '@keelson/testing';
import { decodeProtectedHeader } from 'jose';

// Zero-downtime rotation, observed from outside: a client keeps getting tokens and a gateway
// verifier (caching the JWKS for as long as the service allows) keeps accepting them while
// the signing key changes twice.

describe('key rotation under continuous load', () => {
  let sut: ServiceProcess;
  let client: IssuedClient;

  beforeAll(async () => {
    expect((await ServiceProcess.start('apps/auth/src/main', {}, await freePort(), ['migrate']).exited).code).toBe(0);
    const seed = ServiceProcess.start('apps/auth/src/main', {}, await freePort(), ['seed']);
    expect((await seed.exited).code).toBe(0);
    client = (JSON.parse(seed.stdout.trim().split('\n').at(-1) ?? '{}') as { client: IssuedClient }).client;
    // Keys rotate every 4 s, each published 1 s (the JWKS cache lifetime) before it signs.
    sut = ServiceProcess.start(
      'apps/auth/src/main',
      { KEY_ROTATION_INTERVAL_SECONDS: '4', JWKS_CACHE_SECONDS: '1', KEY_ROTATION_CHECK_SECONDS: '1', AUTH_ISSUER: 'https://keelson.test' },
      await freePort(),
    );
    await sut.ready();
  });

  afterAll(async () => {
    await sut.stop();
  });

  it('verifies every token across two rotations', async () => {
    const verifier = new AccessTokenVerifier({
      keys: new URL(`${sut.url}/.well-known/jwks.json`),
      issuer: 'https://keelson.test',
      audience: 'keelson-api',
      jwksCacheMs: 1_000,
      jwksCooldownMs: 1_000,
    });
    const kids = new Set<string>();
    const failures: string[] = [];
    let verified = 0;
    const deadline = Date.now() + 20_000; // bounded: stops after 20 s or three keys, whichever first
    while (Date.now() < deadline && kids.size < 3) {
      const response = await fetch(`${sut.url}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: client.clientId,
          client_secret: client.clientSecret,
        }).toString(),
      });
      const { access_token: token } = (await response.json()) as { access_token: string };
      kids.add(String(decodeProtectedHeader(token).kid));
      try {
        await verifier.verify(token);
        verified += 1;
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    expect(kids.size).toBe(3); // the first key and two successors signed
    expect(failures).toEqual([]);
    expect(verified).toBeGreaterThan(100);
  });
});
