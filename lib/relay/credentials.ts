/**
 * Live sessions outlive the credentials they opened with unless someone looks: `taskferry relay
 * rotate-token` and `revoke-client` write the store directly, often from another process, and
 * an idle session sends no frame that would notice. These functions end such sessions.
 */
import { CLOSE_CODES, fail } from "../protocol/mod.ts";
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
  if (admits(session, client)) return true;
  const revoked = !client || client.revoked_at !== null;
  const e = revoked ? fail("client_revoked") : fail("unauthorized", "the token was rotated");
  session.send({ type: "error", code: e.code, message: e.message });
  session.close(CLOSE_CODES.unauthorized, revoked ? "client revoked" : "token rotated");
  return false;
}

/** True when `client` (its record as stored) still admits `session`. */
export function admits(session: Session, client: ClientRecord | null): boolean {
  return client !== null && client.revoked_at === null && client.token_hash === session.tokenHash;
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
