import { redactQuery, redactUrl, redisStatement } from './redaction';

describe('redactUrl', () => {
  it('keeps a URL without a query as it is', () => {
    expect(redactUrl('/api/v1/orders/3f1c')).toBe('/api/v1/orders/3f1c');
  });

  it('replaces every query value and keeps the names', () => {
    expect(redactUrl('/api/v1/customers?email=ada%40example.com&limit=5')).toBe('/api/v1/customers?email=REDACTED&limit=REDACTED');
    expect(redactUrl('/search?name=Ada+Lovelace&name=Grace')).toBe('/search?name=REDACTED&name=REDACTED');
  });

  it('redacts a name that is itself data, and drops an empty query and the fragment', () => {
    expect(redactUrl('/x?ada@example.com')).toBe('/x?REDACTED=REDACTED');
    expect(redactUrl('/x?token')).toBe('/x?token=REDACTED');
    expect(redactUrl('/x?')).toBe('/x');
    expect(redactUrl('/x?a=1#frag')).toBe('/x?a=REDACTED');
  });
});

describe('redactQuery', () => {
  it('redacts a query string without its question mark', () => {
    expect(redactQuery('email=a@b.c&&status=active')).toBe('email=REDACTED&status=REDACTED');
    expect(redactQuery('')).toBe('');
  });
});

describe('redisStatement', () => {
  it('keeps the command and the key prefix, never the key or values', () => {
    expect(redisStatement('get', ['auth:deny:0b7c1f9e-1e1a-4c4e-9a44-1b0f0c0d0e0f'])).toBe('GET auth:deny:*');
    expect(redisStatement('hset', ['orders:customer:g3:42', 'value', '{"email":"ada@example.com"}'])).toBe('HSET orders:customer:g3:*');
  });

  it('takes a script’s first key, after the script and the key count', () => {
    expect(redisStatement('evalsha', ['4a6b…', 2, 'orders:customer:g3:42', 'cache:tags:customer', '{"name":"Ada"}'])).toBe(
      'EVALSHA orders:customer:g3:*',
    );
    expect(redisStatement('evalsha', ['4a6b…', 0, 'arg'])).toBe('EVALSHA');
  });

  it('cuts the prefix at a segment that looks like data, and keeps at most three segments', () => {
    expect(redisStatement('get', ['auth:login:fail:ada@example.com|127.0.0.1'])).toBe('GET auth:login:fail:*');
    expect(redisStatement('get', ['auth:login:fail:ada:lovelace|127.0.0.1'])).toBe('GET auth:login:fail:*');
    expect(redisStatement('set', ['ada@example.com:session:1', 'x'])).toBe('SET');
    expect(redisStatement('incr', ['counter'])).toBe('INCR');
    expect(redisStatement('ping', [])).toBe('PING');
  });
});
