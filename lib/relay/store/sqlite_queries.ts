/** The relay store's SQL for SQLite: one statement per flow step (see flow.ts), `?` parameters. */
import type { QueryName, QueryTable } from "./flow.ts";
import { OPEN_TASK_SQL } from "./rules.ts";

/**
 * Inserts whose flow asks for the new row's `seq` (a `RETURNING seq` in other dialects): seq is
 * the rowid, which the insert reports itself.
 */
export const INSERTS_RETURNING_SEQ: ReadonlySet<QueryName> = new Set(["deliveryAdd", "receiptAdd"]);

/**
 * Statements that change nothing: a grouped accept runs them without a savepoint
 * (sqlite_group.ts). Any statement not named here is treated as a write.
 */
export const READ_QUERIES: ReadonlySet<QueryName> = new Set([
  "clientGet",
  "clientList",
  "clientLastSeen",
  "agentGet",
  "agentCountOfClient",
  "agentListPublic",
  "inviteGet",
  "grantGet",
  "linkGet",
  "linkFromClient",
  "pendingGet",
  "pendingToClient",
  "taskGet",
  "taskCountOpen",
  "envelopeExists",
  "envelopeForReceipt",
  "deliveriesPending",
  "stats",
  "settingGet",
]);

/**
 * How a refused accept undoes a row it wrote (sqlite_group.ts), by the row's key: the new
 * envelope's id, the new delivery's seq. Other writes are undone by a savepoint.
 */
export const UNDO_SQL: Partial<Readonly<Record<QueryName, string>>> = {
  envelopeAdd: "DELETE FROM envelopes WHERE id = ?",
  deliveryAdd: "DELETE FROM deliveries WHERE seq = ?",
};

/** SQLite statements, by name. */
export const SQLITE_QUERIES: QueryTable = {
  clientAdd: `INSERT INTO clients (id, token_hash, created_at) VALUES (?, ?, ?)
    ON CONFLICT (id) DO NOTHING`,
  clientGet: "SELECT * FROM clients WHERE id = ?",
  clientList: "SELECT * FROM clients ORDER BY id",
  clientLastSeen: `SELECT id AS client_id, max(t) AS seen FROM (
      SELECT sender_client AS id, max(accepted_at) AS t FROM envelopes GROUP BY sender_client
      UNION ALL SELECT client_id, max(done_at) FROM deliveries WHERE state = 'delivered'
        GROUP BY client_id
      UNION ALL SELECT client_id, acked_at FROM client_acks
      UNION ALL SELECT client_id, max(updated_at) FROM agents GROUP BY client_id
    ) AS activity GROUP BY id`,
  clientRevoke: "UPDATE clients SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
  clientSetToken: "UPDATE clients SET token_hash = ? WHERE id = ? AND revoked_at IS NULL",
  agentGet: "SELECT * FROM agents WHERE handle = ?",
  // A client's handles all start with "@<id>/" ("/" + 1 = "0"): a range on the primary key.
  agentCountOfClient:
    "SELECT count(*) AS n FROM agents WHERE handle >= ? AND handle < ? AND client_id = ?",
  agentPut: `INSERT INTO agents (handle, client_id, signing_public_key, encryption_public_key,
      profile, public, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (handle) DO UPDATE SET signing_public_key = excluded.signing_public_key,
      encryption_public_key = excluded.encryption_public_key, profile = excluded.profile,
      public = excluded.public, updated_at = excluded.updated_at`,
  agentListPublic: `SELECT a.* FROM agents a JOIN clients c ON c.id = a.client_id
    WHERE a.public = 1 AND c.revoked_at IS NULL ORDER BY a.handle LIMIT ?`,
  inviteAdd: `INSERT INTO invites (code, agent, client_id, created_at, expires_at, revoked, uses,
    max_uses) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  inviteGet: "SELECT * FROM invites WHERE code = ?",
  // The write transaction (BEGIN IMMEDIATE) already excludes every other writer.
  inviteLock: "SELECT * FROM invites WHERE code = ?",
  inviteRevoke: "UPDATE invites SET revoked = 1 WHERE code = ? AND revoked = 0",
  inviteCountUse: "UPDATE invites SET uses = uses + 1 WHERE code = ?",
  grantGet: "SELECT 1 FROM invite_grants WHERE client_id = ? AND agent = ?",
  grantAdd: "INSERT INTO invite_grants (client_id, agent, created_at) VALUES (?, ?, ?)",
  linkGet: "SELECT permissions FROM links WHERE sender = ? AND recipient = ?",
  linkAdd: `INSERT INTO links (sender, recipient, permissions, created_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (sender, recipient) DO NOTHING`,
  linkSetPermissions: "UPDATE links SET permissions = ? WHERE sender = ? AND recipient = ?",
  linkFromClient: `SELECT 1 FROM links l JOIN agents a ON a.handle = l.sender
    WHERE l.recipient = ? AND a.client_id = ? LIMIT 1`,
  pendingGet: "SELECT request_id FROM pending_requests WHERE from_handle = ? AND to_handle = ?",
  pendingPut: `INSERT INTO pending_requests (from_handle, to_handle, request_id, created_at)
    VALUES (?, ?, ?, ?) ON CONFLICT (from_handle, to_handle) DO UPDATE
    SET request_id = excluded.request_id, created_at = excluded.created_at`,
  pendingDelete: "DELETE FROM pending_requests WHERE from_handle = ? AND to_handle = ?",
  pendingToClient: `SELECT 1 FROM pending_requests p JOIN agents a ON a.handle = p.to_handle
    WHERE p.from_handle = ? AND a.client_id = ? LIMIT 1`,
  taskGet: "SELECT id, requester, worker, snapshot FROM tasks WHERE id = ?",
  taskPut: `INSERT INTO tasks (id, requester, worker, state, snapshot, updated_at)
    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET worker = excluded.worker, state = excluded.state,
    snapshot = excluded.snapshot, updated_at = excluded.updated_at`,
  taskCountOpen:
    `SELECT count(*) AS n FROM tasks WHERE requester = ? AND worker = ? AND ${OPEN_TASK_SQL}`,
  envelopeExists: "SELECT 1 FROM envelopes WHERE id = ?",
  envelopeAdd: `INSERT INTO envelopes (id, sender_client, from_handle, recipients, type, body,
    accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
  envelopeForReceipt: "SELECT sender_client, recipients, accepted_at FROM envelopes WHERE id = ?",
  // No RETURNING: the store answers these two with the insert's rowid (INSERTS_RETURNING_SEQ),
  // which skips SQLite's buffering of returned rows (issue 21).
  deliveryAdd: `INSERT INTO deliveries (client_id, kind, envelope_id, created_at)
    VALUES (?, 'envelope', ?, ?)`,
  receiptAdd: `INSERT INTO deliveries (client_id, kind, envelope_id, body, created_at)
    VALUES (?, 'receipt', ?, ?, ?)`,
  deliveriesPending: `SELECT d.seq, d.kind, coalesce(d.body, e.body) AS body, d.envelope_id,
      coalesce(e.accepted_at, d.created_at) AS accepted_at, d.attempts
    FROM deliveries d LEFT JOIN envelopes e ON e.id = d.envelope_id AND d.kind = 'envelope'
    WHERE d.client_id = ? AND d.state = 'pending' AND d.seq > ? ORDER BY d.seq LIMIT ?`,
  deliveryAck: `UPDATE deliveries SET state = 'delivered', done_at = ?
    WHERE seq = ? AND client_id = ? AND state = 'pending' RETURNING kind, envelope_id`,
  deliveryNoteAttempt:
    "UPDATE deliveries SET attempts = attempts + 1 WHERE seq = ? AND client_id = ?",
  deliveriesExpire: `UPDATE deliveries SET state = 'failed', done_at = ?
    WHERE state = 'pending' AND created_at < ? RETURNING seq, client_id, envelope_id, kind`,
  // Batched acks delete their delivery and keep the client's newest ack (sqlite_acks.ts).
  pruneAcks: "DELETE FROM client_acks WHERE acked_at < ?",
  pruneDeliveries: "DELETE FROM deliveries WHERE state != 'pending' AND done_at < ?",
  pruneEnvelopes: `DELETE FROM envelopes WHERE accepted_at < ? AND NOT EXISTS
    (SELECT 1 FROM deliveries d WHERE d.envelope_id = envelopes.id AND d.state = 'pending'
      AND d.kind = 'envelope')`,
  // One relay per SQLite database: its rate limits live in its memory.
  pruneRates: null,
  pruneGrants: "DELETE FROM invite_grants WHERE agent NOT IN (SELECT handle FROM agents)",
  stats: `SELECT (SELECT count(*) FROM clients WHERE revoked_at IS NULL) AS clients,
    (SELECT count(*) FROM agents) AS agents,
    (SELECT count(*) FROM deliveries WHERE state = 'pending') AS pending_deliveries,
    (SELECT count(*) FROM envelopes) AS envelopes`,
  settingGet: "SELECT value FROM relay_settings WHERE key = ?",
  settingPut: `INSERT INTO relay_settings (key, value, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
};
