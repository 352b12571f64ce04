/** Thrown for a cursor that was not produced by `encodeCursor` (tampered, truncated, or from another list). */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

/** An opaque keyset-pagination cursor: the sort key of the last row served. */
export function encodeCursor(values: readonly string[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string, arity: number): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('cursor is not valid');
  }
  if (!Array.isArray(parsed) || parsed.length !== arity || !parsed.every((v) => typeof v === 'string')) {
    throw new InvalidCursorError('cursor is not valid');
  }
  return parsed;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

/** Builds a page from `limit + 1` rows fetched in sort order. */
export function toPage<T>(rows: T[], limit: number, cursorOf: (row: T) => string[]): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(cursorOf(last)) : null };
}
