/**
 * Rows kept in memory as committed, for the tables the daemon reads several times per message
 * (issue 21: agents, peers, connections). The table that owns a cache clears it on each of its
 * writes, so it suits only tables whose one writer in a running daemon is that table; rows read
 * inside a transaction are not kept (it may yet roll back).
 */
import type { DatabaseSync } from "../../store/mod.ts";

/** Most keys remembered (then it starts over). */
const MAX_CACHED = 1024;

/** A read-through cache of committed rows by key. */
export class CommittedRows<T extends object> {
  /** Rows by key; null: no such row. */
  readonly #rows = new Map<string, T | null>();

  constructor(private readonly db: DatabaseSync) {}

  /**
   * The row under `key`, from memory or else from `read`. A copy: a caller may not change what
   * the next one reads.
   */
  get(key: string, read: () => T | undefined): T | undefined {
    let row = this.#rows.get(key);
    if (row === undefined) {
      row = read() ?? null;
      if (!this.db.isTransaction) {
        if (this.#rows.size >= MAX_CACHED) this.#rows.clear();
        this.#rows.set(key, row);
      }
    }
    return row ? { ...row } : undefined;
  }

  /** Forgets every row (call before each write to the table). */
  clear() {
    this.#rows.clear();
  }
}
