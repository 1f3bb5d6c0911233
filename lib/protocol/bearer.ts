/** The `Authorization: Bearer <token>` header, parsed one way for relay and daemon. */

const BEARER_RE = /^Bearer\s+(\S+)$/i;

/**
 * The token of an `Authorization: Bearer <token>` header, or null when the header is absent or
 * has another form. The scheme is case-insensitive (RFC 9110 §11.1); the token is one word.
 *
 * @example
 * ```ts
 * parseBearer("Bearer abc123"); // "abc123"
 * parseBearer("Basic abc"); // null
 * ```
 */
export function parseBearer(header: string | null | undefined): string | null {
  return BEARER_RE.exec(header ?? "")?.[1] ?? null;
}
