/** The daemon's SQLite schema (design §9), in ordered migrations. */
import type { Migration } from "../../store/mod.ts";

export const CLIENT_MIGRATIONS: Migration[] = [{
  version: 1,
  name: "daemon schema",
  sql: `
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    -- Local agents and their private keys (never leave this database).
    CREATE TABLE agents (
      handle TEXT PRIMARY KEY,
      signing_private_key TEXT NOT NULL,
      signing_public_key TEXT NOT NULL,
      encryption_private_key TEXT NOT NULL,
      encryption_public_key TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      profile TEXT NOT NULL,
      public INTEGER NOT NULL,
      registered INTEGER NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL
    );

    -- Peer keys, pinned at first contact.
    CREATE TABLE peers (
      handle TEXT PRIMARY KEY,
      signing_public_key TEXT NOT NULL,
      encryption_public_key TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      profile TEXT NOT NULL,
      pinned_at TEXT NOT NULL
    );

    CREATE TABLE connections (
      agent TEXT NOT NULL,
      peer TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending_out', 'pending_in', 'connected', 'declined')),
      request_id TEXT,
      note TEXT,
      permissions TEXT NOT NULL,
      permissions_synced INTEGER NOT NULL DEFAULT 1,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (agent, peer)
    );

    -- Every envelope this daemon sent or received, readable (plaintext + envelope).
    CREATE TABLE messages (
      id TEXT NOT NULL,
      agent TEXT NOT NULL,
      direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
      type TEXT NOT NULL,
      from_handle TEXT NOT NULL,
      to_handles TEXT NOT NULL,
      conversation_id TEXT,
      task_id TEXT,
      reply_to TEXT,
      created_at TEXT NOT NULL,
      payload TEXT NOT NULL,
      envelope TEXT NOT NULL,
      state TEXT NOT NULL,
      state_reason TEXT,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (id, agent)
    );
    CREATE INDEX messages_task ON messages(task_id);
    CREATE INDEX messages_conversation ON messages(agent, conversation_id);

    -- What each local agent sees, in arrival order; the cursor for long polls.
    CREATE TABLE inbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      agent TEXT NOT NULL,
      message_id TEXT NOT NULL,
      UNIQUE (agent, message_id)
    );
    CREATE INDEX inbox_agent ON inbox(agent, seq);

    -- Envelopes held for the owner: changed keys, forgeries.
    CREATE TABLE quarantine (
      id TEXT PRIMARY KEY,
      from_handle TEXT NOT NULL,
      reason TEXT NOT NULL,
      envelope TEXT NOT NULL,
      presented_key TEXT,
      created_at TEXT NOT NULL,
      resolution TEXT
    );

    CREATE TABLE tasks (
      id TEXT PRIMARY KEY,
      requester TEXT NOT NULL,
      worker TEXT NOT NULL,
      title TEXT NOT NULL,
      instructions TEXT NOT NULL,
      inputs TEXT,
      deadline TEXT,
      max_revisions INTEGER NOT NULL,
      state TEXT NOT NULL,
      snapshot TEXT NOT NULL,
      gate TEXT NOT NULL DEFAULT 'none' CHECK (gate IN ('none', 'pending', 'approved', 'rejected')),
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    );
    CREATE INDEX tasks_state ON tasks(state);

    -- Append-only, hash-chained audit of task events.
    CREATE TABLE task_events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      task_id TEXT NOT NULL,
      event_id TEXT NOT NULL,
      type TEXT NOT NULL,
      actor TEXT NOT NULL,
      at TEXT NOT NULL,
      data TEXT NOT NULL,
      prev_hash TEXT NOT NULL,
      hash TEXT NOT NULL,
      UNIQUE (task_id, event_id, type)
    );
    CREATE INDEX task_events_task ON task_events(task_id, seq);

    CREATE TABLE artifacts (
      task_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      content TEXT NOT NULL,
      content_type TEXT NOT NULL,
      name TEXT,
      note TEXT,
      message_id TEXT NOT NULL,
      created_at TEXT NOT NULL,
      PRIMARY KEY (task_id, version)
    );

    -- Sealed envelopes waiting for the relay's answer, in send order.
    CREATE TABLE outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      envelope TEXT NOT NULL,
      state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'failed')),
      error_code TEXT,
      attempts INTEGER NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL
    );
    CREATE INDEX outbox_pending ON outbox(state, seq);
  `,
}, {
  version: 2,
  name: "delivery state code apart from its reason",
  // A refused or rejected message stored its state as one "code: message" text, which readers
  // had to parse back. The code now has its own column; existing rows are split the same way
  // the parser did (a lowercase code, ": ", then the message). Views still show them joined.
  sql: `
    ALTER TABLE messages ADD COLUMN state_code TEXT;
    UPDATE messages
      SET state_code = substr(state_reason, 1, instr(state_reason, ': ') - 1),
        state_reason = substr(state_reason, instr(state_reason, ': ') + 2)
      WHERE state IN ('failed', 'rejected') AND instr(state_reason, ': ') > 1
        AND substr(state_reason, 1, instr(state_reason, ': ') - 1) NOT GLOB '*[^a-z_]*';
  `,
}, {
  version: 3,
  name: "agent tokens",
  // Local credentials scoped to one agent (design §14): only a SHA-256 of each token is kept.
  // Tokens go with their agent.
  sql: `
    CREATE TABLE agent_tokens (
      id TEXT PRIMARY KEY,
      agent TEXT NOT NULL REFERENCES agents(handle) ON DELETE CASCADE,
      token_hash TEXT NOT NULL UNIQUE,
      label TEXT,
      created_at TEXT NOT NULL,
      last_used_at TEXT
    );
    CREATE INDEX agent_tokens_agent ON agent_tokens(agent);
  `,
}];

/**
 * Signed `delivered` receipts owed to senders (issue 13 item 5), written in the same transaction
 * that stores the envelope, so a daemon killed before its batch went out still sends them after
 * a restart (the relay does not redeliver what was acked).
 */
const RECEIPTS_DUE_MIGRATION: Migration = {
  version: 4,
  name: "delivered receipts owed to senders",
  sql: `
    CREATE TABLE receipts_due (
      id TEXT NOT NULL,
      agent TEXT NOT NULL,
      peer TEXT NOT NULL,
      created_at TEXT NOT NULL,
      PRIMARY KEY (id, agent)
    );
  `,
};
CLIENT_MIGRATIONS.push(RECEIPTS_DUE_MIGRATION);

/**
 * The owner's controls (issue 13 item 4, item 12): a bounded quarantine, blockable connections
 * and the invites this daemon created.
 */
const OWNER_VERBS_MIGRATION: Migration = {
  version: 5,
  name: "owner verbs: bounded quarantine, blocked connections, remembered invites",
  // The quarantine kept every held envelope whole (a stranger filled 147 MB in 7 s) and kept
  // rejected ones. Items are now bounded metadata plus the raw envelope — whole only for a
  // `key_changed` item small enough to be applied later, else its first 4 KB — with a running
  // `seq` for paging and `stored_bytes` for the size cap (lib/client/quarantine.ts). Resolved
  // rows leave; their ids stay in `quarantine_rejected` so a redelivery does not come back.
  // Connections gain the `blocked` state (a CHECK change: the table is rebuilt), and the
  // daemon remembers the invites it created so the owner can list and revoke them.
  sql: `
    CREATE TABLE quarantine_bounded (
      seq INTEGER PRIMARY KEY, -- the rowid: paging cursor, arrival order
      id TEXT NOT NULL UNIQUE,
      from_handle TEXT NOT NULL,
      reason TEXT NOT NULL,
      type TEXT,
      size INTEGER NOT NULL,
      complete INTEGER NOT NULL,
      envelope TEXT NOT NULL,
      presented_key TEXT,
      stored_bytes INTEGER NOT NULL,
      created_at TEXT NOT NULL
    );
    INSERT INTO quarantine_bounded (id, from_handle, reason, type, size, complete, envelope,
        presented_key, stored_bytes, created_at)
      SELECT id, substr(from_handle, 1, 128), substr(reason, 1, 64),
        CASE WHEN json_valid(envelope) AND json_type(envelope) = 'object'
          THEN substr(CAST(json_extract(envelope, '$.type') AS TEXT), 1, 32) END,
        length(CAST(envelope AS BLOB)),
        CASE WHEN reason = 'key_changed' THEN 1 ELSE 0 END,
        CASE WHEN reason = 'key_changed' THEN envelope ELSE substr(envelope, 1, 4096) END,
        presented_key,
        256 + length(CAST(CASE WHEN reason = 'key_changed' THEN envelope
          ELSE substr(envelope, 1, 4096) END AS BLOB)),
        created_at
      FROM quarantine WHERE resolution IS NULL ORDER BY created_at, rowid;
    CREATE TABLE quarantine_rejected (id TEXT PRIMARY KEY, at TEXT NOT NULL);
    INSERT INTO quarantine_rejected (id, at)
      SELECT id, created_at FROM quarantine WHERE resolution = 'rejected';
    DROP TABLE quarantine;
    ALTER TABLE quarantine_bounded RENAME TO quarantine;
    CREATE INDEX quarantine_bytes ON quarantine(stored_bytes);
    CREATE INDEX quarantine_sender ON quarantine(from_handle, reason, seq);
    CREATE INDEX quarantine_rejected_at ON quarantine_rejected(at);

    CREATE TABLE connections_blockable (
      agent TEXT NOT NULL,
      peer TEXT NOT NULL,
      state TEXT NOT NULL
        CHECK (state IN ('pending_out', 'pending_in', 'connected', 'declined', 'blocked')),
      request_id TEXT,
      note TEXT,
      permissions TEXT NOT NULL,
      permissions_synced INTEGER NOT NULL DEFAULT 1,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (agent, peer)
    );
    INSERT INTO connections_blockable SELECT agent, peer, state, request_id, note, permissions,
      permissions_synced, created_at, updated_at FROM connections;
    DROP TABLE connections;
    ALTER TABLE connections_blockable RENAME TO connections;

    CREATE TABLE invites (
      code TEXT PRIMARY KEY,
      agent TEXT NOT NULL,
      url TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      created_at TEXT NOT NULL,
      revoked_at TEXT
    );
  `,
};
CLIENT_MIGRATIONS.push(OWNER_VERBS_MIGRATION);

/** Task progress lines (issue 15): the latest lines per task, outside the audit chain. */
const TASK_PROGRESS_MIGRATION: Migration = {
  version: 6,
  name: "task progress lines (issue 15)",
  // Progress reports change no state, so they stay out of the hash-chained audit log (a long
  // run would grow it without bound). Each task keeps its latest lines here, pruned on insert
  // with their envelopes (store/tasks.ts PROGRESS_KEEP); the message id makes a redelivery or
  // the second local application of the same envelope a no-op.
  sql: `
    CREATE TABLE task_progress (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      task_id TEXT NOT NULL,
      message_id TEXT NOT NULL UNIQUE,
      sender TEXT NOT NULL,
      text TEXT NOT NULL,
      queue_position INTEGER,
      at TEXT NOT NULL
    );
    CREATE INDEX task_progress_task ON task_progress(task_id, seq);
  `,
};
CLIENT_MIGRATIONS.push(TASK_PROGRESS_MIGRATION);

/** Files (design §12): transfers, envelopes held until their blobs are up, posted files. */
const FILES_MIGRATION: Migration = {
  version: 7,
  name: "files: transfers, held envelopes, uploaded local files",
  // Files (design §12). One row per (blob, local agent) a message sent or received, with its
  // transfer progress (chunks done), so an interrupted upload or download resumes where it
  // stopped; envelopes held until their blobs are uploaded; files posted to POST /v1/files.
  sql: `
    CREATE TABLE files (
      blob_id TEXT NOT NULL,
      agent TEXT NOT NULL,
      message_id TEXT NOT NULL,
      direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
      position INTEGER NOT NULL,
      name TEXT NOT NULL,
      size INTEGER NOT NULL,
      media_type TEXT NOT NULL,
      sha256 TEXT NOT NULL,
      key TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending', 'ready', 'failed')),
      done_chunks INTEGER NOT NULL DEFAULT 0,
      error_code TEXT,
      error TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (blob_id, agent)
    );
    CREATE INDEX files_message ON files(message_id, position);
    CREATE INDEX files_pending ON files(state, direction);

    CREATE TABLE held_envelopes (
      message_id TEXT PRIMARY KEY,
      envelope TEXT NOT NULL,
      created_at TEXT NOT NULL
    );

    CREATE TABLE local_files (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      size INTEGER NOT NULL,
      media_type TEXT NOT NULL,
      sha256 TEXT NOT NULL,
      created_at TEXT NOT NULL
    );
  `,
};
CLIENT_MIGRATIONS.push(FILES_MIGRATION);
