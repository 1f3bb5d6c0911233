/** The relay store's schema on SQLite (DDL only; versions match pg_schema.ts). */
import type { Migration } from "../../store/mod.ts";

/** Relay schema migrations, in order. */
export const RELAY_MIGRATIONS: Migration[] = [{
  version: 1,
  name: "relay schema",
  sql: `
    CREATE TABLE clients (
      id TEXT PRIMARY KEY,
      token_hash TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      revoked_at INTEGER
    );
    CREATE TABLE agents (
      handle TEXT PRIMARY KEY,
      client_id TEXT NOT NULL REFERENCES clients(id),
      signing_public_key TEXT NOT NULL,
      encryption_public_key TEXT NOT NULL,
      profile TEXT NOT NULL,
      public INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );
    CREATE INDEX agents_public ON agents(public, handle);
    CREATE TABLE invites (
      code TEXT PRIMARY KEY,
      agent TEXT NOT NULL REFERENCES agents(handle),
      client_id TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      revoked INTEGER NOT NULL DEFAULT 0,
      uses INTEGER NOT NULL DEFAULT 0,
      max_uses INTEGER
    );
    CREATE TABLE invite_grants (
      client_id TEXT NOT NULL,
      agent TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (client_id, agent)
    );
    CREATE TABLE links (
      sender TEXT NOT NULL,
      recipient TEXT NOT NULL,
      permissions TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (sender, recipient)
    );
    CREATE INDEX links_recipient ON links(recipient);
    CREATE TABLE pending_requests (
      from_handle TEXT NOT NULL,
      to_handle TEXT NOT NULL,
      request_id TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (from_handle, to_handle)
    );
    CREATE TABLE tasks (
      id TEXT PRIMARY KEY,
      requester TEXT NOT NULL,
      worker TEXT NOT NULL,
      state TEXT NOT NULL,
      snapshot TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    );
    CREATE INDEX tasks_parties ON tasks(requester, worker, state);
    CREATE TABLE envelopes (
      id TEXT PRIMARY KEY,
      sender_client TEXT NOT NULL,
      from_handle TEXT NOT NULL,
      recipients TEXT NOT NULL,
      type TEXT NOT NULL,
      body TEXT NOT NULL,
      accepted_at INTEGER NOT NULL
    );
    CREATE INDEX envelopes_accepted ON envelopes(accepted_at);
    CREATE TABLE deliveries (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      client_id TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('envelope', 'receipt')),
      envelope_id TEXT NOT NULL,
      body TEXT,
      state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
      attempts INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL,
      done_at INTEGER
    );
    CREATE INDEX deliveries_pending ON deliveries(client_id, state, seq);
    CREATE INDEX deliveries_done ON deliveries(state, done_at);
    CREATE INDEX deliveries_created ON deliveries(state, created_at);
  `,
}, {
  version: 2,
  name: "partial delivery indexes",
  // Acking a delivery changes its state: with (state, …) indexes that is a delete and an
  // insert in each of three indexes. Partial indexes hold only the rows each query looks
  // for, so an ack removes two entries and adds one, and an insert adds two (issue 21).
  sql: `
    DROP INDEX deliveries_pending;
    DROP INDEX deliveries_done;
    DROP INDEX deliveries_created;
    CREATE INDEX deliveries_pending ON deliveries(client_id, seq) WHERE state = 'pending';
    CREATE INDEX deliveries_done ON deliveries(done_at) WHERE state != 'pending';
    CREATE INDEX deliveries_created ON deliveries(created_at) WHERE state = 'pending';
  `,
}, {
  version: 3,
  name: "relay settings",
  // Facts the relay remembers across starts (its public URL), read by the operator verbs.
  sql: `CREATE TABLE relay_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL,
    updated_at INTEGER NOT NULL);`,
}, {
  version: 4,
  name: "grouped accepts",
  // PostgreSQL's grouped accepts need functions (pg_schema.ts); SQLite groups in process.
  // The version is kept in step so both dialects name the same schema.
  sql: "SELECT 1;",
}, {
  version: 5,
  name: "accepts in one round trip; acks delete",
  sql: "SELECT 1;", // PostgreSQL's functions changed (pg_functions.ts); kept in step.
}, {
  version: 6,
  name: "client and agent changes notify the nodes",
  sql: "SELECT 1;", // PostgreSQL's triggers (pg_schema.ts); SQLite has data_version. In step.
}, {
  version: 7,
  name: "acks delete on SQLite too",
  // As PostgreSQL's version 5: an ack deletes its delivery (sqlite_acks.ts) instead of
  // marking it, which rewrote the row and three index entries and left it for the prune; what
  // "last seen" read from delivered rows, client_acks keeps. Rows delivered before this
  // version are still read by "last seen" and pruned as they were.
  sql: "CREATE TABLE client_acks (client_id TEXT PRIMARY KEY, acked_at INTEGER NOT NULL);",
}];
