/** Agent handles: `@owner/name`, each part `[a-z0-9][a-z0-9-]{0,31}`. */

const PART = "[a-z0-9][a-z0-9-]{0,31}";
/** A handle's pattern. */
export const HANDLE_RE = new RegExp(`^@(${PART})/(${PART})$`);
/** A client id / owner namespace pattern. */
export const OWNER_RE = new RegExp(`^${PART}$`);

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
