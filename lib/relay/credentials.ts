/**
 * Live sessions outlive the credentials they opened with unless someone looks: `taskferry relay
 * rotate-token` and `revoke-client` write the store directly, often from another process, and
 * an idle session sends no frame that would notice. These functions end such sessions.
 */
import { CLOSE_CODES, fail, type TaskferryError } from "../protocol/mod.ts";
import type { Session } from "./session.ts";
import type { ClientRecord, RelayStore } from "./store.ts";

/** Above this many sessions, one read of every client beats one read per session. */
const READ_ALL_ABOVE = 32;

/**
 * Ends `session` (an `error` frame, then close 4001) unless `client` — its record as stored now
 * — still admits it: not revoked, and the token hash it authenticated with.
 *
 * @returns true when the session may go on
 */
export function endIfStale(session: Session, client: ClientRecord | null): boolean {
  const e = credentialsRefusal(client, session.tokenHash);
  if (e === null) return true;
  session.send({ type: "error", code: e.code, message: e.message });
  closeStale(session, e);
  return false;
}

/** Closes `session` (4001) for a {@link credentialsRefusal}, after its `error` frame went out. */
export function closeStale(session: Session, e: TaskferryError) {
  session.close(
    CLOSE_CODES.unauthorized,
    e.code === "client_revoked" ? "client revoked" : "token rotated",
  );
}

/** True when `client` (its record as stored) still admits `session`. */
export function admits(session: Session, client: ClientRecord | null): boolean {
  return credentialsRefusal(client, session.tokenHash) === null;
}

/**
 * Why `client` (its record as stored) no longer admits a session that authenticated with
 * `tokenHash` (undefined: not checked), or null when it does. The one home of this rule: the
 * per-frame check above and the accept's (accept.ts `checkSender`) both ask it.
 */
export function credentialsRefusal(
  client: ClientRecord | null,
  tokenHash: string | undefined,
): TaskferryError | null {
  if (!client || client.revoked_at !== null) return fail("client_revoked");
  if (tokenHash !== undefined && client.token_hash !== tokenHash) {
    return fail("unauthorized", "the token was rotated");
  }
  return null;
}

/** Re-reads the clients of `sessions` and ends those whose credentials no longer hold. */
export async function checkCredentials(store: RelayStore, sessions: Session[]): Promise<void> {
  if (sessions.length <= READ_ALL_ABOVE) {
    for (const s of sessions) {
      if (!s.closed) endIfStale(s, await store.getClient(s.clientId));
    }
    return;
  }
  const clients = new Map((await store.listClients()).map((c) => [c.id, c]));
  for (const s of sessions) if (!s.closed) endIfStale(s, clients.get(s.clientId) ?? null);
}
