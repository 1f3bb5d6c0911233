/**
 * Checks a handle typed on the command line before it reaches the daemon, so a typo gets the
 * rule and a correction instead of the API's generic validation message. The rule itself lives
 * in lib/protocol/handles.ts; this file only explains it and suggests the nearest valid handle.
 */
import { GO_CLIENT_PREFIX, isHandle } from "../protocol/handles.ts";
import { UsageError } from "./command.ts";

/** The handle rule in words (lib/protocol/handles.ts `PART`, `OWNER`). */
export const HANDLE_RULE =
  "a handle is @owner/name, each part 1 to 32 lowercase letters, digits, '_' or '-', starting with a letter or digit; the owner cannot start with 'client_'";

/** The valid handle nearest to `text` (lowercased, bad characters → '-', parts cut to 32). */
export function nearestHandle(text: string): string {
  const [owner = "", ...rest] = text.replace(/^@+/, "").split("/");
  const part = (s: string, fallback: string) => {
    const p = s.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^[_-]+/, "").slice(0, 32);
    return p === "" ? fallback : p;
  };
  let o = part(owner, "owner");
  if (o.startsWith(GO_CLIENT_PREFIX)) o = part(o.slice(GO_CLIENT_PREFIX.length), "owner");
  return `@${o}/${part(rest.join("-"), "agent")}`;
}

/** Returns `text` when it is a valid handle; otherwise throws a {@link UsageError} that says why. */
export function checkHandle(text: string, what: string): string {
  if (isHandle(text)) return text;
  throw new UsageError(
    `${what} '${text}' is not a valid handle: ${HANDLE_RULE}; did you mean '${
      nearestHandle(text)
    }'?`,
  );
}
