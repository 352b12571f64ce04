/**
 * What replaces a redacted value (the marker OpenTelemetry's own URL redaction uses).
 */
export const REDACTED = 'REDACTED';

/** Query parameter names kept as they are; anything else (an e-mail used as a bare key…) is redacted too. */
const PLAIN_NAME = /^[\w.[\]-]{1,64}$/;

/**
 * A query string (without `?`) with every value replaced and the names kept: `email=a@b.c&limit=5`
 * becomes `email=REDACTED&limit=REDACTED`. Values are where callers put e-mails, names and
 * tokens; names say what was asked, which is what a reader of a log or a trace needs.
 */
export function redactQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      return `${PLAIN_NAME.test(name) ? name : REDACTED}=${REDACTED}`;
    })
    .join('&');
}

/** A request target (`/path?query`) with its query values redacted; the path is kept. */
export function redactUrl(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;
  const hash = url.indexOf('#', start);
  const query = url.slice(start + 1, hash === -1 ? undefined : hash);
  return query === '' ? url.slice(0, start) : `${url.slice(0, start)}?${redactQuery(query)}`;
}

/** Key segments kept in a Redis statement: plain words, never what looks like data, at most three. */
const KEY_SEGMENT = /^[A-Za-z][\w.-]{0,63}$/;
const MAX_KEY_SEGMENTS = 3;

/** Commands whose keys follow the script (or function) and the key count. */
const SCRIPT_COMMAND = /^(eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro)$/i;

/**
 * The Redis `db.statement` of a span: the command and its first key's prefix, never values or
 * whole keys — `EVALSHA orders:customer:g3:*`, `GET auth:deny:*`. The prefix is the key without
 * its last `:` segment, at most three segments, cut short at the first segment that is not a
 * plain word (an e-mail, a `username|ip` pair), so ids and personal data stay out of traces
 * while the span still says which cache or limiter was hit.
 */
export function redisStatement(command: string, args: readonly unknown[]): string {
  const name = command.toUpperCase();
  const key = SCRIPT_COMMAND.test(command) ? (Number(args[1]) > 0 ? args[2] : undefined) : args[0];
  if (typeof key !== 'string' && !(key instanceof Buffer)) return name;
  const segments = key.toString().split(':').slice(0, -1).slice(0, MAX_KEY_SEGMENTS);
  const kept: string[] = [];
  for (const segment of segments) {
    if (!KEY_SEGMENT.test(segment)) break;
    kept.push(segment);
  }
  return kept.length === 0 ? name : `${name} ${kept.join(':')}:*`;
}
