/**
 * What both relay stores decide the same way, whatever the SQL: how rows become records,
 * what a receipt says, how a task is stored, when an invite may be redeemed, and which
 * migrations to run. Pure functions; the flows (flows.ts) call them.
 * @module
 */
import { fail, type Permissions, PermissionsSchema, TERMINAL_STATES } from "../../protocol/mod.ts";
import { inviteUsable } from "../invite_rules.ts";
import type {
  AgentRecord,
  ClientRecord,
  DeliveryRow,
  InviteRecord,
  ReceiptBody,
  RelayTask,
  StoreStats,
} from "../store.ts";
import type { Param, QueryName, Row } from "./flow.ts";

/** SQL condition for a task that is still open (no terminal state), for both query tables. */
export const OPEN_TASK_SQL = `state NOT IN (${TERMINAL_STATES.map((s) => `'${s}'`).join(", ")})`;

/**
 * Statements that change rows the relays keep in memory (clients, agents, links: SQLite's
 * store/row_cache.ts, PostgreSQL's store/pg_row_cache.ts): running one drops them.
 */
export const CACHED_WRITES: ReadonlySet<QueryName> = new Set([
  "clientAdd",
  "clientRevoke",
  "clientSetToken",
  "agentPut",
  "linkAdd",
  "linkSetPermissions",
]);

// Decoders: SQLite returns integers for booleans and numbers for BIGINT; PostgreSQL returns
// booleans and strings. Both become the interface's types here.

/** A `clients` row. */
export function toClient(r: Row): ClientRecord {
  return {
    id: String(r.id),
    token_hash: String(r.token_hash),
    created_at: Number(r.created_at),
    revoked_at: r.revoked_at === null ? null : Number(r.revoked_at),
  };
}

/** An `agents` row. */
export function toAgent(r: Row): AgentRecord {
  return {
    handle: String(r.handle),
    client_id: String(r.client_id),
    signing_public_key: String(r.signing_public_key),
    encryption_public_key: String(r.encryption_public_key),
    profile: JSON.parse(String(r.profile)),
    public: Boolean(r.public),
    created_at: Number(r.created_at),
    updated_at: Number(r.updated_at),
  };
}

/** An `invites` row. */
export function toInvite(r: Row): InviteRecord {
  return {
    code: String(r.code),
    agent: String(r.agent),
    client_id: String(r.client_id),
    created_at: Number(r.created_at),
    expires_at: Number(r.expires_at),
    revoked: Boolean(r.revoked),
    uses: Number(r.uses),
    max_uses: r.max_uses === null ? null : Number(r.max_uses),
  };
}

/** A `tasks` row. */
export function toTask(r: Row): RelayTask {
  return {
    id: String(r.id),
    requester: String(r.requester),
    worker: String(r.worker),
    snapshot: JSON.parse(String(r.snapshot)),
  };
}

/** A pending delivery joined with its envelope. */
export function toDelivery(r: Row): DeliveryRow {
  return {
    seq: Number(r.seq),
    kind: r.kind as DeliveryRow["kind"],
    body: String(r.body),
    envelope_id: String(r.envelope_id),
    accepted_at: Number(r.accepted_at),
    attempts: Number(r.attempts),
  };
}

/** A link's stored permissions. */
export function toPermissions(r: Row): Permissions {
  return PermissionsSchema.parse(JSON.parse(String(r.permissions)));
}

/** The one `stats` row. */
export function toStats(r: Row): StoreStats {
  return {
    clients: Number(r.clients),
    agents: Number(r.agents),
    pending_deliveries: Number(r.pending_deliveries),
    envelopes: Number(r.envelopes),
  };
}

// Encoders: the parameter lists of the inserts, in the column order both tables use.

/** `agentPut` parameters. */
export function agentParams(a: AgentRecord): Param[] {
  return [
    a.handle,
    a.client_id,
    a.signing_public_key,
    a.encryption_public_key,
    JSON.stringify(a.profile),
    a.public,
    a.created_at,
    a.updated_at,
  ];
}

/** `inviteAdd` parameters. */
export function inviteParams(i: InviteRecord): Param[] {
  return [i.code, i.agent, i.client_id, i.created_at, i.expires_at, i.revoked, i.uses, i.max_uses];
}

/**
 * `taskPut` parameters. The relay keeps a task's state, not its event history: event ids are
 * dropped (replays are caught by the envelopes table).
 */
export function taskParams(task: RelayTask, now: number): Param[] {
  const snapshot = JSON.stringify({ ...task.snapshot, event_ids: [] });
  return [task.id, task.requester, task.worker, task.snapshot.state, snapshot, now];
}

/**
 * The receipt queued to an envelope's sender when the delivery to `recipientClient` ends:
 * it names only that client's recipients (the others may still be pending).
 */
export function receiptFor(
  envelope: Row,
  envelopeId: string,
  recipientClient: string,
  state: ReceiptBody["state"],
  now: number,
  reason?: string,
): { client_id: string; body: string } {
  // A row holds the JSON text; the SQLite relay's memory (sqlite_receipts.ts) the array.
  const all = Array.isArray(envelope.recipients)
    ? envelope.recipients as readonly string[]
    : JSON.parse(String(envelope.recipients)) as string[];
  const recipients = all.filter((h) => h.startsWith(`@${recipientClient}/`));
  const body: ReceiptBody = { id: envelopeId, state, recipients, at: new Date(now).toISOString() };
  if (reason) body.reason = reason;
  return { client_id: String(envelope.sender_client), body: JSON.stringify(body) };
}

/**
 * Whether redeeming `invite` adds a grant: false when the client already has one (a repeated
 * look-up is free). Throws `invite_not_found` / `invite_expired`. Stores call it inside the
 * redeeming transaction, so concurrent redemptions cannot overshoot `max_uses`.
 */
export function redeemAdds(invite: InviteRecord | null, granted: boolean, now: number): boolean {
  if (!invite) throw fail("invite_not_found");
  if (granted) return false;
  if (!inviteUsable(invite, now)) throw fail("invite_expired");
  return true;
}

/** The sliding rate window at `now`: the current window's start, the previous one's, and the
 * weight the previous window's count still has. */
export function rateWindow(now: number, windowMs: number) {
  const start = now - (now % windowMs);
  return { start, previous: start - windowMs, weight: 1 - (now - start) / windowMs };
}

/** Whether a key with `current` uses in this window and `previous` in the last is at `limit`. */
export function rateOver(current: number, previous: number, weight: number, limit: number) {
  return previous * weight + current >= limit;
}

/**
 * The migrations to run on a database at schema version `current`, in order. Throws
 * `database_too_new` (changing nothing) when the database is newer than this code.
 */
export function migrationsToRun<M extends { version: number }>(
  current: number,
  migrations: readonly M[],
  database: string,
): M[] {
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw fail(
      "database_too_new",
      `the ${database} database is at schema version ${current}; this TaskFerry knows up to ${latest}: upgrade TaskFerry`,
    );
  }
  return migrations.filter((m) => m.version > current);
}
