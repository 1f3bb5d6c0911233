/**
 * Live sessions outlive the credentials they opened with unless someone looks: `taskferry relay
 * rotate-token` and `revoke-client` write the store directly, often from another process, and
 * an idle session sends no frame that would notice. These functions end such sessions, and
 * hold the rules the accept checks its sender against (its client, token and agent).
 */
import { CLOSE_CODES, type Envelope, fail, type TaskferryError } from "../protocol/mod.ts";
import type { SenderSession } from "./accept.ts";
import type { Session } from "./session.ts";
import type { AgentRecord, ClientRecord, RelayStore, RoutingReads } from "./store.ts";

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
 * per-frame check above and the accept's ({@link checkSender}) both ask it.
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

/**
 * The sender as it is now, inside the accept's lock: a revoke, token rotation or key rotation
 * committed since the session's and the signature's checks (which may have read rows a
 * PostgreSQL node keeps: store/pg_row_cache.ts) refuses the envelope.
 */
export async function checkSender(
  store: RoutingReads,
  session: SenderSession,
  envelope: Envelope,
  signedWith: string | undefined,
) {
  const refusal = credentialsRefusal(await store.getClient(session.clientId), session.tokenHash);
  if (refusal) throw refusal;
  const agent = senderAgent(await store.getAgent(envelope.from), envelope.from, session.clientId);
  if (signedWith !== undefined && agent.signing_public_key !== signedWith) {
    throw fail("bad_signature", `${envelope.from}'s signing key changed; sign with the new one`);
  }
}

/** `agent` (the envelope's sender `from`, as stored) when the session's client owns it. */
export function senderAgent(
  agent: AgentRecord | null,
  from: string,
  clientId: string,
): AgentRecord {
  if (!agent || agent.client_id !== clientId) {
    throw fail("unknown_agent", `register ${from} before sending as it`);
  }
  return agent;
}
