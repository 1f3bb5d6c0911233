/** The relay store's SQL for PostgreSQL: one statement per flow step (see flow.ts), `$n` parameters. */
import type { QueryTable } from "./flow.ts";
import { OPEN_TASK_SQL } from "./rules.ts";

/** PostgreSQL statements, by name. */
export const PG_QUERIES: QueryTable = {
  clientAdd: `INSERT INTO clients (id, token_hash, created_at) VALUES ($1, $2, $3)
    ON CONFLICT (id) DO NOTHING`,
  clientGet: "SELECT * FROM clients WHERE id = $1",
  clientList: "SELECT * FROM clients ORDER BY id",
  clientLastSeen: `SELECT id AS client_id, max(t) AS seen FROM (
      SELECT sender_client AS id, max(accepted_at) AS t FROM envelopes GROUP BY sender_client
      UNION ALL SELECT client_id, max(done_at) FROM deliveries WHERE state = 'delivered'
        GROUP BY client_id
      UNION ALL SELECT client_id, acked_at FROM client_acks
      UNION ALL SELECT client_id, max(updated_at) FROM agents GROUP BY client_id
    ) AS activity GROUP BY id`,
  clientRevoke: "UPDATE clients SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
  clientSetToken: "UPDATE clients SET token_hash = $1 WHERE id = $2 AND revoked_at IS NULL",
  agentGet: "SELECT * FROM agents WHERE handle = $1",
  agentCountOfClient:
    "SELECT count(*)::int AS n FROM agents WHERE handle >= $1 AND handle < $2 AND client_id = $3",
  agentPut: `INSERT INTO agents (handle, client_id, signing_public_key, encryption_public_key,
      profile, public, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (handle) DO UPDATE SET signing_public_key = excluded.signing_public_key,
      encryption_public_key = excluded.encryption_public_key, profile = excluded.profile,
      public = excluded.public, updated_at = excluded.updated_at`,
  agentListPublic: `SELECT a.* FROM agents a JOIN clients c ON c.id = a.client_id
    WHERE a.public AND c.revoked_at IS NULL ORDER BY a.handle LIMIT $1`,
  inviteAdd: `INSERT INTO invites (code, agent, client_id, created_at, expires_at, revoked, uses,
    max_uses) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
  inviteGet: "SELECT * FROM invites WHERE code = $1",
  // Locks the row: concurrent redemptions on other nodes wait, then see the new count.
  inviteLock: "SELECT * FROM invites WHERE code = $1 FOR UPDATE",
  inviteRevoke: "UPDATE invites SET revoked = true WHERE code = $1 AND NOT revoked",
  inviteCountUse: "UPDATE invites SET uses = uses + 1 WHERE code = $1",
  grantGet: "SELECT 1 FROM invite_grants WHERE client_id = $1 AND agent = $2",
  grantAdd: "INSERT INTO invite_grants (client_id, agent, created_at) VALUES ($1, $2, $3)",
  linkGet: "SELECT permissions FROM links WHERE sender = $1 AND recipient = $2",
  linkAdd: `INSERT INTO links (sender, recipient, permissions, created_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (sender, recipient) DO NOTHING`,
  linkSetPermissions: "UPDATE links SET permissions = $1 WHERE sender = $2 AND recipient = $3",
  linkFromClient: `SELECT 1 FROM links l JOIN agents a ON a.handle = l.sender
    WHERE l.recipient = $1 AND a.client_id = $2 LIMIT 1`,
  pendingGet: "SELECT request_id FROM pending_requests WHERE from_handle = $1 AND to_handle = $2",
  pendingPut: `INSERT INTO pending_requests (from_handle, to_handle, request_id, created_at)
    VALUES ($1, $2, $3, $4) ON CONFLICT (from_handle, to_handle) DO UPDATE
    SET request_id = excluded.request_id, created_at = excluded.created_at`,
  pendingDelete: "DELETE FROM pending_requests WHERE from_handle = $1 AND to_handle = $2",
  pendingToClient: `SELECT 1 FROM pending_requests p JOIN agents a ON a.handle = p.to_handle
    WHERE p.from_handle = $1 AND a.client_id = $2 LIMIT 1`,
  taskGet: "SELECT id, requester, worker, snapshot FROM tasks WHERE id = $1",
  taskPut: `INSERT INTO tasks (id, requester, worker, state, snapshot, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET worker = excluded.worker, state = excluded.state,
    snapshot = excluded.snapshot, updated_at = excluded.updated_at`,
  taskCountOpen:
    `SELECT count(*)::int AS n FROM tasks WHERE requester = $1 AND worker = $2 AND ${OPEN_TASK_SQL}`,
  envelopeExists: "SELECT 1 FROM envelopes WHERE id = $1",
  envelopeAdd: `INSERT INTO envelopes (id, sender_client, from_handle, recipients, type, body,
    accepted_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
  envelopeForReceipt: "SELECT sender_client, recipients, accepted_at FROM envelopes WHERE id = $1",
  deliveryAdd: `INSERT INTO deliveries (client_id, kind, envelope_id, created_at)
    VALUES ($1, 'envelope', $2, $3) RETURNING seq`,
  receiptAdd: `INSERT INTO deliveries (client_id, kind, envelope_id, body, created_at)
    VALUES ($1, 'receipt', $2, $3, $4) RETURNING seq`,
  deliveriesPending: `SELECT d.seq, d.kind, coalesce(d.body, e.body) AS body, d.envelope_id,
      coalesce(e.accepted_at, d.created_at) AS accepted_at, d.attempts
    FROM deliveries d LEFT JOIN envelopes e ON e.id = d.envelope_id AND d.kind = 'envelope'
    WHERE d.client_id = $1 AND d.state = 'pending' AND d.seq > $2 ORDER BY d.seq LIMIT $3`,
  deliveryAck: `UPDATE deliveries SET state = 'delivered', done_at = $1
    WHERE seq = $2 AND client_id = $3 AND state = 'pending' RETURNING kind, envelope_id`,
  deliveryNoteAttempt:
    "UPDATE deliveries SET attempts = attempts + 1 WHERE seq = $1 AND client_id = $2",
  deliveriesExpire: `UPDATE deliveries SET state = 'failed', done_at = $1
    WHERE state = 'pending' AND created_at < $2 RETURNING seq, client_id, envelope_id, kind`,
  // Batched acks delete their delivery and keep the client's newest ack (pg_acks.ts).
  pruneAcks: "DELETE FROM client_acks WHERE acked_at < $1",
  pruneDeliveries: "DELETE FROM deliveries WHERE state != 'pending' AND done_at < $1",
  pruneEnvelopes: `DELETE FROM envelopes WHERE accepted_at < $1 AND NOT EXISTS
    (SELECT 1 FROM deliveries d WHERE d.envelope_id = envelopes.id AND d.state = 'pending'
      AND d.kind = 'envelope')`,
  pruneRates: "DELETE FROM rate_windows WHERE window_start < $1",
  pruneGrants: "DELETE FROM invite_grants WHERE agent NOT IN (SELECT handle FROM agents)",
  stats: `SELECT (SELECT count(*) FROM clients WHERE revoked_at IS NULL) AS clients,
    (SELECT count(*) FROM agents) AS agents,
    (SELECT count(*) FROM deliveries WHERE state = 'pending') AS pending_deliveries,
    (SELECT count(*) FROM envelopes) AS envelopes`,
  settingGet: "SELECT value FROM relay_settings WHERE key = $1",
  settingPut: `INSERT INTO relay_settings (key, value, updated_at) VALUES ($1, $2, $3)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
};
