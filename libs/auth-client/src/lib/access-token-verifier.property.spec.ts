import { createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { createLocalJWKSet, type JWK } from 'jose';
import { AccessTokenVerifier, InvalidTokenError } from './access-token-verifier';

// Property tests for the known JWT attacks, against an in-process key set. Every
// token is signed by hand (no library guard rails), so a forger controls each header and
// claim; the positive control proves the same forger's honest tokens pass, so a rejection
// below is caused by the one thing each property changes.

const ISSUER = 'https://keelson.test';
const AUDIENCE = 'keelson-api';
const KID = 'issuer-key-1';
/** The verifier's default clock tolerance, the one the gateway runs with. */
const SKEW = 30;
/** Room for the clock to tick while one run signs and verifies. */
const MARGIN = 5;
const TEN_YEARS = 10 * 365 * 86_400;

const issuerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const publishedJwk: JWK = { kty: 'EC', ...issuerKey.publicKey.export({ format: 'jwk' }), kid: KID, use: 'sig', alg: 'ES256' };
const jwks = { keys: [publishedJwk] };
const foreignEcKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const foreignRsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 });

type Header = Record<string, unknown>;
type Claims = Record<string, unknown>;
type Signer = (signingInput: string) => Buffer;

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function compact(header: Header, claims: Claims, signWith: Signer): string {
  const input = `${encode(header)}.${encode(claims)}`;
  return `${input}.${signWith(input).toString('base64url')}`;
}

const es256 =
  (key: KeyObject): Signer =>
  (input) =>
    sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
const rs256 =
  (key: KeyObject): Signer =>
  (input) =>
    sign('sha256', Buffer.from(input), key);
const hmac =
  (alg: 'HS256' | 'HS384' | 'HS512', secret: Buffer): Signer =>
  (input) =>
    createHmac(`sha${alg.slice(2)}`, secret)
      .update(input)
      .digest();
const byIssuer = es256(issuerKey.privateKey);

const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const honestHeader = (overrides: Header = {}): Header => ({ alg: 'ES256', kid: KID, typ: 'at+jwt', ...overrides });
const honestClaims = (overrides: Claims = {}): Claims => {
  const now = nowSeconds();
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'client-1',
    client_id: 'client-1',
    scope: 'orders:read',
    jti: randomUUID(),
    iat: now,
    exp: now + 300,
    ...overrides,
  };
};

// --- arbitraries ---------------------------------------------------------------------

/** Any code points, control characters and astral ones included (fast-check leaves out lone surrogates). */
const anyText = fc.string({ unit: 'binary', maxLength: 64 });
const scopeToken = fc.stringMatching(/^[\x21\x23-\x5B\x5D-\x7E]{1,20}$/); // RFC 6749 §3.3
const scope = fc.array(scopeToken, { maxLength: 5 }).map((tokens) => tokens.join(' '));
const subjectClaims = fc.record({
  sub: fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }),
  client_id: fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }),
  jti: fc.oneof(fc.uuid(), fc.string({ unit: 'binary', minLength: 1, maxLength: 64 })),
  scope,
});
const someSeconds = fc.oneof(fc.integer({ min: 0, max: TEN_YEARS }), fc.double({ min: 0, max: TEN_YEARS, noNaN: true }));
const whitespace = fc.array(fc.constantFrom(' ', '\t', '\n', '\r\n'), { maxLength: 3 }).map((parts) => parts.join(''));
const base64urlText = fc.uint8Array({ maxLength: 128 }).map((bytes) => Buffer.from(bytes).toString('base64url'));
/** RFC 7515 §4.1.9 lets `application/` be left out and media types ignore case, so these all mean at+jwt. */
const isAtJwt = (typ: unknown): boolean => typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === 'at+jwt';

describe('AccessTokenVerifier properties', () => {
  const sut = new AccessTokenVerifier({ keys: createLocalJWKSet(jwks), issuer: ISSUER, audience: AUDIENCE });

  async function expectRejected(token: string): Promise<void> {
    await expect(sut.verify(token)).rejects.toBeInstanceOf(InvalidTokenError);
  }

  it('accepts tokens from the real key with any valid claims and times within the skew, and returns what was signed', async () => {
    await fc.assert(
      fc.asyncProperty(
        subjectClaims,
        fc.oneof(
          fc.constant(AUDIENCE),
          fc.tuple(fc.array(anyText, { maxLength: 3 }), fc.array(anyText, { maxLength: 3 })).map(([a, b]) => [...a, AUDIENCE, ...b]),
        ),
        fc.constantFrom('at+jwt', 'application/at+jwt', 'AT+JWT', 'Application/At+Jwt'),
        fc.integer({ min: -3_600, max: SKEW }), // iat, relative to now
        fc.integer({ min: 1, max: 86_400 }), // lifetime
        fc.option(fc.integer({ min: -3_600, max: SKEW }), { nil: undefined }), // nbf, relative to now
        async (subject, aud, typ, iatOffset, lifetime, nbfOffset) => {
          fc.pre(iatOffset + lifetime >= -SKEW + MARGIN); // not yet expired, even allowing for the skew
          const now = nowSeconds();
          const claims: Claims = {
            ...subject,
            iss: ISSUER,
            aud,
            iat: now + iatOffset,
            exp: now + iatOffset + lifetime,
            ...(nbfOffset === undefined ? {} : { nbf: now + nbfOffset }),
          };
          const token = compact(honestHeader({ typ }), claims, byIssuer);
          expect(await sut.verify(token)).toEqual(claims);
          expect(await sut.verify(token)).toEqual(claims); // and again, from the cache
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects alg none with any claims and any or no signature', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('none', 'None', 'NONE', 'nOnE'),
        fc.constantFrom(KID, undefined),
        fc.dictionary(anyText, fc.jsonValue(), { maxKeys: 5 }),
        fc.oneof(fc.constant(''), base64urlText),
        fc.boolean(),
        async (alg, kid, extra, signature, withSignaturePart) => {
          const input = `${encode({ alg, kid, typ: 'at+jwt' })}.${encode(honestClaims(extra))}`;
          await expectRejected(withSignaturePart ? `${input}.${signature}` : input);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects HS256/384/512 tokens keyed with the public key in any encoding (key confusion)', async () => {
    const pem = issuerKey.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const textForms = [
      pem,
      pem.trim(),
      pem.replace(/-----[^-]+-----|\s/g, ''), // the base64 body alone
      JSON.stringify(publishedJwk),
      JSON.stringify(publishedJwk, null, 2),
      JSON.stringify(jwks),
      JSON.stringify(issuerKey.publicKey.export({ format: 'jwk' })),
      String(publishedJwk.x),
    ];
    const binaryForms = [
      issuerKey.publicKey.export({ type: 'spki', format: 'der' }),
      Buffer.concat([Buffer.from([4]), Buffer.from(String(publishedJwk.x), 'base64url'), Buffer.from(String(publishedJwk.y), 'base64url')]),
    ];
    const secret = fc.oneof(
      fc.tuple(whitespace, fc.constantFrom(...textForms), whitespace).map(([lead, form, trail]) => Buffer.from(lead + form + trail)),
      fc.constantFrom(...binaryForms),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('HS256' as const, 'HS384' as const, 'HS512' as const),
        secret,
        fc.constantFrom(KID, undefined),
        subjectClaims,
        async (alg, key, kid, subject) => {
          await expectRejected(compact({ alg, kid, typ: 'at+jwt' }, honestClaims(subject), hmac(alg, key)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects RS256 and ES256 tokens from foreign keys, whatever the kid, and ignores an embedded jwk or jku', async () => {
    const foreign = [
      { alg: 'RS256', signWith: rs256(foreignRsaKey.privateKey), jwk: foreignRsaKey.publicKey.export({ format: 'jwk' }) },
      { alg: 'ES256', signWith: es256(foreignEcKey.privateKey), jwk: foreignEcKey.publicKey.export({ format: 'jwk' }) },
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...foreign),
        fc.oneof(fc.constant(KID), fc.constant(undefined), anyText, fc.jsonValue()),
        fc.boolean(),
        fc.option(fc.webUrl(), { nil: undefined }),
        subjectClaims,
        async ({ alg, signWith, jwk }, kid, embedJwk, jku, subject) => {
          const header = { alg, kid, typ: 'at+jwt', ...(embedJwk ? { jwk } : {}), ...(jku === undefined ? {} : { jku }) };
          await expectRejected(compact(header, honestClaims(subject), signWith));
        },
      ),
      { numRuns: 100 },
    );
  });

  describe('kid injection', () => {
    const hostileKid = fc
      .oneof(
        fc.string({ unit: 'binary', maxLength: 256 }),
        fc.constantFrom(
          '',
          '../../../../etc/passwd',
          '..\\..\\..\\windows\\win.ini',
          "' OR '1'='1",
          `${KID}' --`,
          '"; DROP TABLE auth.signing_keys; --',
          `${KID}\u0000`,
          ` ${KID}`,
          `${KID} `,
          KID.toUpperCase(),
          'http://169.254.169.254/latest/meta-data/',
          '__proto__',
          'constructor',
          '*',
          `${KID}\uD800`, // a lone surrogate
        ),
        fc
          .tuple(fc.constantFrom('../', '..\\', '%2e%2e%2f'), fc.integer({ min: 1, max: 5_000 }))
          .map(([step, n]) => `${step.repeat(n)}etc/passwd`),
        fc
          .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }), fc.integer({ min: 10_000, max: 200_000 }))
          .map(([s, n]) => s.repeat(n)),
      )
      .filter((kid) => kid !== KID);

    // Signed by the real key with honest claims: the unknown kid is the only fault.
    it('rejects a real-key token whose kid names no published key, promptly', async () => {
      await fc.assert(
        fc.asyncProperty(hostileKid, async (kid) => {
          await expectRejected(compact(honestHeader({ kid }), honestClaims(), byIssuer));
        }),
        { numRuns: 200, timeout: 1_000 },
      );
    });

    it('rejects a real-key token whose kid is not a string or is missing (no fallback to any key of the right type)', async () => {
      const notAString = fc.oneof(
        fc.constant(undefined),
        fc.integer(),
        fc.constant(null),
        fc.boolean(),
        fc.array(fc.constant(KID)),
        fc.object(),
      );
      await fc.assert(
        fc.asyncProperty(notAString, async (kid) => {
          const header = honestHeader({ kid });
          if (kid === undefined) delete header.kid;
          await expectRejected(compact(header, honestClaims(), byIssuer));
        }),
        { numRuns: 100 },
      );
    });

    it('does not refetch the remote JWKS for every unknown kid (the gateway’s configuration)', async () => {
      let fetches = 0;
      const server = createServer((_request, response) => {
        fetches += 1;
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify(jwks));
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        const { port } = server.address() as AddressInfo;
        const remote = new AccessTokenVerifier({ keys: new URL(`http://127.0.0.1:${port}/jwks.json`), issuer: ISSUER, audience: AUDIENCE });
        expect((await remote.verify(compact(honestHeader(), honestClaims(), byIssuer))).iss).toBe(ISSUER);
        await fc.assert(
          fc.asyncProperty(hostileKid, async (kid) => {
            await expect(remote.verify(compact(honestHeader({ kid }), honestClaims(), byIssuer))).rejects.toBeInstanceOf(InvalidTokenError);
          }),
          { numRuns: 50, timeout: 2_000 },
        );
        expect(fetches).toBeLessThanOrEqual(2); // the first load, at most one refetch inside the 30 s cooldown
      } finally {
        server.closeAllConnections(); // jose's keep-alive socket would hold the server open
        server.close();
      }
    });
  });

  it('rejects a crit header that names any extension it does not understand', async () => {
    const extensionName = fc.oneof(anyText, fc.constantFrom('b64', 'alg', 'kid', 'typ', 'exp', 'x-keelson-unknown', '__proto__'));
    const listedExtensions = fc
      .array(fc.tuple(extensionName, fc.jsonValue()), { minLength: 1, maxLength: 5 })
      // RFC 7797 `b64: true` is an understood extension that changes nothing; anything else in crit is not.
      .filter((entries) => !(entries.every(([name]) => name === 'b64') && entries.at(-1)?.[1] === true))
      .map((entries): Header => ({ ...Object.fromEntries(entries), crit: entries.map(([name]) => name) }));
    const malformedCrit = fc.jsonValue().map((crit) => ({ crit }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(listedExtensions, malformedCrit), async (extensions) => {
        await expectRejected(compact({ ...extensions, alg: 'ES256', kid: KID, typ: 'at+jwt' }, honestClaims(), byIssuer));
      }),
      { numRuns: 200 },
    );
  });

  it('rejects any typ other than at+jwt, and a missing one', async () => {
    const wrongTyp = fc
      .oneof(
        anyText,
        fc.constantFrom(
          'JWT',
          'jwt',
          'application/jwt',
          'at+jwt ',
          ' at+jwt',
          'at+jwt\u0000',
          'application/at+jwt; charset=utf-8',
          'application/application/at+jwt',
          'at-jwt',
          'x-at+jwt',
          'dpop+jwt',
          'secevent+jwt',
          'JOSE',
          undefined,
        ),
        fc.jsonValue(),
      )
      .filter((typ) => !isAtJwt(typ));
    await fc.assert(
      fc.asyncProperty(wrongTyp, async (typ) => {
        await expectRejected(compact({ alg: 'ES256', kid: KID, typ }, honestClaims(), byIssuer));
      }),
      { numRuns: 200 },
    );
  });

  it.each<[string, (now: number, beyond: number) => Claims]>([
    ['exp more than the skew in the past', (now, beyond) => ({ iat: now - SKEW - beyond - 300, exp: now - SKEW - beyond })],
    ['nbf more than the skew in the future', (now, beyond) => ({ nbf: now + SKEW + MARGIN + beyond })],
    [
      'iat more than the skew in the future',
      (now, beyond) => ({ iat: now + SKEW + MARGIN + beyond, exp: now + SKEW + MARGIN + beyond + 300 }),
    ],
  ])('rejects a real-key token with %s', async (_case, times) => {
    await fc.assert(
      fc.asyncProperty(someSeconds, subjectClaims, async (beyond, subject) => {
        await expectRejected(compact(honestHeader(), honestClaims({ ...subject, ...times(nowSeconds(), beyond) }), byIssuer));
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a cached token once its exp is more than the skew in the past, and not a millisecond sooner', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3_600 }), fc.integer({ min: 0, max: TEN_YEARS * 1000 }), async (lifetime, lateMs) => {
        const exp = nowSeconds() + lifetime;
        const token = compact(honestHeader(), honestClaims({ exp }), byIssuer);
        await sut.verify(token); // now cached
        const clock = jest.spyOn(Date, 'now');
        try {
          clock.mockReturnValue((exp + SKEW) * 1000 - 1);
          expect((await sut.verify(token)).exp).toBe(exp);
          clock.mockReturnValue((exp + SKEW) * 1000 + lateMs);
          await expect(sut.verify(token)).rejects.toThrow(new InvalidTokenError('token expired'));
        } finally {
          clock.mockRestore();
        }
      }),
      { numRuns: 100 },
    );
  });

  it.each([
    ['aud', AUDIENCE],
    ['iss', ISSUER],
  ])('rejects a real-key token whose %s is anything but %s', async (claim, expected) => {
    const nearMisses = [`${expected}/`, ` ${expected}`, `${expected} `, expected.toUpperCase(), `${expected}\u0000`, expected.slice(0, -1)];
    const otherValue = fc.oneof(anyText, fc.constantFrom(...nearMisses)).filter((value) => value !== expected);
    const wrong = fc.oneof(
      otherValue,
      fc.array(otherValue, { maxLength: 4 }),
      fc.jsonValue().filter((value) => value !== expected && !(Array.isArray(value) && value.includes(expected))),
      fc.constant(undefined), // missing
    );
    await fc.assert(
      fc.asyncProperty(wrong, async (value) => {
        await expectRejected(compact(honestHeader(), honestClaims({ [claim]: value }), byIssuer));
      }),
      { numRuns: 100 },
    );
  });

  it('rejects arbitrary garbage with its own error, never another exception', async () => {
    const segment = fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('base64url'));
    const jsonSegment = fc.jsonValue().map(encode);
    const signatureLike = fc.uint8Array({ minLength: 64, maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('base64url'));
    const garbage = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 500 }),
      fc.uint8Array({ maxLength: 500 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
      fc.array(segment, { maxLength: 6 }).map((parts) => parts.join('.')),
      fc.tuple(segment, segment, segment).map((parts) => parts.join('.')),
      fc.tuple(jsonSegment, jsonSegment, segment).map((parts) => parts.join('.')),
      // An honest header gets the parser furthest: arbitrary claims and a signature of the right length.
      fc.tuple(jsonSegment, signatureLike).map(([payload, signature]) => `${encode(honestHeader())}.${payload}.${signature}`),
    );
    await fc.assert(
      fc.asyncProperty(garbage, async (token) => {
        await expectRejected(token);
      }),
      { numRuns: 200 },
    );
  });
});
