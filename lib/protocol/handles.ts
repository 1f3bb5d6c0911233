/**
 * Agent handles `@owner/name` and client ids (an owner namespace). Each part is
 * `[a-z0-9][a-z0-9_-]{0,31}`: underscores are accepted because the Go TaskFerry's users have
 * handles like `@team_name/agent-1` (docs/migrating.md). Owners starting with `client_` are
 * reserved: that is how the Go project spelled client ids (`client_alice`), and such an id means
 * the owner after the prefix (see {@link canonicalClientId}), so that one namespace can never
 * have two spellings held by two clients.
 */

const PART = "[a-z0-9][a-z0-9_-]{0,31}";
const OWNER = `(?!client_)${PART}`;
/** A handle's pattern. */
export const HANDLE_RE = new RegExp(`^@(${OWNER})/(${PART})$`);
/** A client id / owner namespace pattern. */
export const OWNER_RE = new RegExp(`^${OWNER}$`);
/** The prefix the Go TaskFerry put on client ids; reserved here (see the module comment). */
export const GO_CLIENT_PREFIX = "client_";

/** A parsed handle. */
export interface Handle {
  owner: string;
  name: string;
}

/** Parses `@owner/name`; returns null when it is not a valid handle. */
export function parseHandle(text: string): Handle | null {
  const m = HANDLE_RE.exec(text);
  if (!m) return null;
  return { owner: m[1]!, name: m[2]! };
}

/** True when `text` is a valid handle. */
export function isHandle(text: unknown): text is string {
  return typeof text === "string" && HANDLE_RE.test(text);
}

/** True when `text` is a valid owner (client id). */
export function isOwner(text: unknown): text is string {
  return typeof text === "string" && OWNER_RE.test(text);
}

/**
 * The client id `text` names, accepting the Go spelling: `client_alice` → `alice` (the client
 * that owns `@alice/*` and nothing else), `alice` → `alice`; null when it is neither.
 *
 * @example canonicalClientId("client_alice") // "alice"
 */
export function canonicalClientId(text: string): string | null {
  const bare = text.startsWith(GO_CLIENT_PREFIX) ? text.slice(GO_CLIENT_PREFIX.length) : text;
  return isOwner(bare) ? bare : null;
}

/** The owner part of a valid handle. */
export function handleOwner(handle: string): string {
  const parsed = parseHandle(handle);
  if (!parsed) throw new TypeError(`invalid handle: ${handle}`);
  return parsed.owner;
}

/** Builds a handle from its parts, validating them. */
export function formatHandle(owner: string, name: string): string {
  const handle = `@${owner}/${name}`;
  if (!isHandle(handle)) throw new TypeError(`invalid handle: ${handle}`);
  return handle;
}
