/**
 * Client and agent rows a PostgreSQL node keeps between frames. A session checks its client
 * before each frame (credentials.ts) and each envelope its sender's agent (the signature key):
 * read each time, they were 0.31 of the 0.48 statements per envelope on one node, and most of
 * a node's cost (issue 21). Rows change rarely; when they do, everyone must see it at once:
 *
 * - every change of a row, by any node or process, notifies {@link ROWS_CHANNEL} at its COMMIT
 *   (migration 6's triggers), and each node drops the row then;
 * - nothing is kept until this node listens; each time postgres.js listens again (after a lost
 *   connection, whose notifications are lost with it) the cache starts over;
 * - rows are kept at most {@link ROW_TTL_MS}, and only rows that exist (a missing agent is read
 *   again, so a registration is seen at once);
 * - only the per-frame checks read kept rows (a session's client, an envelope's sender before
 *   its signature check: `keptClient`, `keptAgent`); authentication (hello, HTTP tokens) and
 *   the periodic credential check read the tables;
 * - what the cache cannot promise, the accept does: its group checks the sender's client and
 *   agent again under its locks (credentials.ts `checkSender`), and a failed signature check reads
 *   the sender's key again (a rotation this node has not heard of yet).
 * @module
 */
import type { AgentRecord, ClientRecord } from "../store.ts";

/** The channel of row changes: payload "c\n" + client id, or "a\n" + handle. */
export const ROWS_CHANNEL = "taskferry_rows";
/** Longest a row is kept (a safety net: changes are notified). */
export const ROW_TTL_MS = 5_000;
/** Rows kept per table; past it the table's cache starts over (bounds memory). */
const MAX_ROWS = 10_000;

interface Kept<T> {
  row: T;
  at: number;
}

/** The kept rows; reads go through {@link get}. */
export class PgRowCache {
  readonly #clients = new Map<string, Kept<ClientRecord>>();
  readonly #agents = new Map<string, Kept<AgentRecord>>();
  /** Bumped by every change heard and every clear: a read that spans one is not kept. */
  #generation = 0;
  #on = false;
  hits = 0;
  misses = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Listening (again): start from nothing, and keep rows from now on. */
  listening() {
    this.clear();
    this.#on = true;
  }

  /** Not listening: keep nothing. */
  off() {
    this.#on = false;
    this.clear();
  }

  /** A notification from {@link ROWS_CHANNEL}; anything unexpected clears all. */
  changed(payload: string) {
    this.#generation++;
    const key = payload.slice(2);
    if (payload.startsWith("c\n")) this.#clients.delete(key);
    else if (payload.startsWith("a\n")) this.#agents.delete(key);
    else this.clear();
  }

  /** The client `id`: kept, or read by `load` (and kept when it exists). */
  client(id: string, load: () => Promise<ClientRecord | null>): Promise<ClientRecord | null> {
    return this.#get(this.#clients, id, load);
  }

  /** The agent `handle`: kept, or read by `load` (and kept when it exists). */
  agent(handle: string, load: () => Promise<AgentRecord | null>): Promise<AgentRecord | null> {
    return this.#get(this.#agents, handle, load);
  }

  /** This node changed a client or agent row: drop them all (writes are rare). */
  written() {
    this.clear();
  }

  private clear() {
    this.#generation++;
    this.#clients.clear();
    this.#agents.clear();
  }

  async #get<T>(
    table: Map<string, Kept<T>>,
    key: string,
    load: () => Promise<T | null>,
  ): Promise<T | null> {
    const kept = table.get(key);
    if (kept && this.now() - kept.at < ROW_TTL_MS) {
      this.hits++;
      return kept.row;
    }
    this.misses++;
    const generation = this.#generation;
    const at = this.now();
    const row = await load();
    // Kept only if nothing changed while it was read: the row may predate that change.
    if (row !== null && this.#on && generation === this.#generation) {
      if (table.size >= MAX_ROWS) table.clear();
      table.set(key, { row, at });
    }
    return row;
  }
}
