/** The `connections` table: one row per (local agent, peer), with what the peer may send. */
import { all, type DatabaseSync, get, run } from "../../store/mod.ts";
import { CommittedRows } from "./committed_rows.ts";

/** A connection row. */
export interface ConnectionRow {
  agent: string;
  peer: string;
  state: "pending_out" | "pending_in" | "connected" | "declined" | "blocked";
  request_id: string | null;
  note: string | null;
  /** JSON of the permissions (what `peer` may send to `agent`). */
  permissions: string;
  permissions_synced: number;
  created_at: string;
  updated_at: string;
}

/** The `connections` table. */
export class ConnectionTable {
  /** Rows by agent and peer, as committed: read for every message sent and received. */
  readonly #rows: CommittedRows<ConnectionRow>;

  constructor(private readonly db: DatabaseSync) {
    this.#rows = new CommittedRows(db);
  }

  /** The connection between local `agent` and `peer`, in whatever state. */
  between(agent: string, peer: string): ConnectionRow | undefined {
    return this.#rows.get(
      `${agent}\n${peer}`,
      () =>
        get<ConnectionRow>(
          this.db,
          "SELECT * FROM connections WHERE agent = ? AND peer = ?",
          agent,
          peer,
        ),
    );
  }

  /** Whether local `agent` and `peer` are connected (the one home of that question). */
  isConnected(agent: string, peer: string): boolean {
    return this.between(agent, peer)?.state === "connected";
  }

  /** Whether the owner blocked `peer` for local `agent` (everything from it is dropped). */
  isBlocked(agent: string, peer: string): boolean {
    return this.between(agent, peer)?.state === "blocked";
  }

  /** Local agents that have a row (any state) with `peer`. */
  agentsWith(peer: string): string[] {
    return all<{ agent: string }>(
      this.db,
      "SELECT agent FROM connections WHERE peer = ? ORDER BY agent",
      peer,
    ).map((r) => r.agent);
  }

  /** Forgets a blocked row (the owner unblocks: the peer may ask again). */
  deleteBlocked(agent: string, peer: string): boolean {
    this.#rows.clear();
    return run(
      this.db,
      "DELETE FROM connections WHERE agent = ? AND peer = ? AND state = 'blocked'",
      agent,
      peer,
    ).changes !== 0;
  }

  /** Connections, most recently changed first (optionally of one local agent). */
  list(agent?: string): ConnectionRow[] {
    return agent
      ? all<ConnectionRow>(
        this.db,
        "SELECT * FROM connections WHERE agent = ? ORDER BY updated_at DESC",
        agent,
      )
      : all<ConnectionRow>(this.db, "SELECT * FROM connections ORDER BY updated_at DESC");
  }

  /** Local agents with a pending inbound request from `peer`. */
  pendingFrom(peer: string): string[] {
    return all<{ agent: string }>(
      this.db,
      "SELECT agent FROM connections WHERE peer = ? AND state = 'pending_in'",
      peer,
    ).map((r) => r.agent);
  }

  /** Writes a whole row (insert, or update everything but `created_at`). */
  upsert(row: ConnectionRow) {
    this.#rows.clear();
    run(
      this.db,
      `INSERT INTO connections (agent, peer, state, request_id, note, permissions, permissions_synced,
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (agent, peer) DO UPDATE SET state = excluded.state, request_id = excluded.request_id,
         note = excluded.note, permissions = excluded.permissions,
         permissions_synced = excluded.permissions_synced, updated_at = excluded.updated_at`,
      row.agent,
      row.peer,
      row.state,
      row.request_id,
      row.note,
      row.permissions,
      row.permissions_synced,
      row.created_at,
      row.updated_at,
    );
  }

  /** Connected (or blocked) rows whose permissions the relay has not confirmed. */
  unsynced(): ConnectionRow[] {
    return all<ConnectionRow>(
      this.db,
      "SELECT * FROM connections WHERE state IN ('connected', 'blocked') AND permissions_synced = 0",
    );
  }

  /** Marks permissions synced, unless they changed since `permissions` was sent. */
  markSynced(agent: string, peer: string, permissions: string) {
    this.#rows.clear();
    run(
      this.db,
      "UPDATE connections SET permissions_synced = 1 WHERE agent = ? AND peer = ? AND permissions = ?",
      agent,
      peer,
      permissions,
    );
  }

  /** Drops a request of ours the relay refused. */
  deletePendingOut(agent: string, peer: string) {
    this.#rows.clear();
    run(
      this.db,
      "DELETE FROM connections WHERE agent = ? AND peer = ? AND state = 'pending_out'",
      agent,
      peer,
    );
  }

  /** Puts a request back to pending after our answer was refused. */
  reopenPendingIn(agent: string, peer: string) {
    this.#rows.clear();
    run(
      this.db,
      "UPDATE connections SET state = 'pending_in' WHERE agent = ? AND peer = ?",
      agent,
      peer,
    );
  }

  /** Connected peers with the time of their first connection (optionally of one agent). */
  connectedPeers(agent?: string): { peer: string; created_at: string }[] {
    return all<{ peer: string; created_at: string }>(
      this.db,
      `SELECT peer, min(created_at) AS created_at FROM connections WHERE state = 'connected'
       ${agent ? "AND agent = ?" : ""} GROUP BY peer ORDER BY peer`,
      ...(agent ? [agent] : []),
    );
  }

  /** Number of rows in `state`. */
  count(state: ConnectionRow["state"]): number {
    return get<{ n: number }>(
      this.db,
      "SELECT count(*) AS n FROM connections WHERE state = ?",
      state,
    )?.n ?? 0;
  }
}
