/**
 * The `idempotency_keys` table: the first answer to each `Idempotency-Key` a principal sent to a
 * state-changing loopback route (guards/idempotency.ts), kept 24 h so a retried call replays it
 * instead of acting twice. `fingerprint` is a SHA-256 of method, path and body: the same key with
 * another request is a conflict, never a replay. Times are ms since the epoch (the daemon's clock).
 */
import { type DatabaseSync, get, type Migration, run } from "../../store/mod.ts";

/** A stored first answer. `streamed` answers have no body (a stream is never replayed). */
export interface IdempotencyRow {
  scope: string;
  key: string;
  fingerprint: string;
  streamed: boolean;
  status: number;
  content_type: string | null;
  body: string | null;
  created_at: number;
}

/** Migration: the table (appended at the end of CLIENT_MIGRATIONS by store/mod.ts). */
export const IDEMPOTENCY_MIGRATION: Migration = {
  version: 8,
  name: "idempotency keys",
  sql: `
    CREATE TABLE idempotency_keys (
      scope TEXT NOT NULL,
      key TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      streamed INTEGER NOT NULL DEFAULT 0,
      status INTEGER NOT NULL,
      content_type TEXT,
      body TEXT,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (scope, key)
    );
    CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
  `,
};

/** The `idempotency_keys` table. */
export class IdempotencyTable {
  constructor(private readonly db: DatabaseSync) {}

  /** The answer stored for `key` of `scope` at or after `since` (older ones are expired). */
  find(scope: string, key: string, since: number): IdempotencyRow | undefined {
    const row = get<Omit<IdempotencyRow, "streamed"> & { streamed: number }>(
      this.db,
      "SELECT * FROM idempotency_keys WHERE scope = ? AND key = ? AND created_at >= ?",
      scope,
      key,
      since,
    );
    return row === undefined ? undefined : { ...row, streamed: row.streamed === 1 };
  }

  /** Stores a first answer (replacing an expired one under the same key). */
  put(row: IdempotencyRow) {
    run(
      this.db,
      `INSERT OR REPLACE INTO idempotency_keys
         (scope, key, fingerprint, streamed, status, content_type, body, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      row.scope,
      row.key,
      row.fingerprint,
      row.streamed ? 1 : 0,
      row.status,
      row.content_type,
      row.body,
      row.created_at,
    );
  }

  /** Deletes every answer stored before `before`; returns how many went. */
  sweep(before: number): number {
    return Number(
      run(this.db, "DELETE FROM idempotency_keys WHERE created_at < ?", before).changes,
    );
  }

  /** How many answers are stored (tests, health). */
  count(): number {
    return get<{ n: number }>(this.db, "SELECT COUNT(*) AS n FROM idempotency_keys")!.n;
  }
}
