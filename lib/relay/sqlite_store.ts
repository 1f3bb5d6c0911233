/**
 * The relay store on SQLite (default): one relay process per database file. The logic is
 * shared with PostgreSQL (store/sql_store.ts); this file runs it synchronously on node:sqlite,
 * with group commit for acks.
 */
import { setImmediate } from "node:timers";
import {
  type DatabaseSync,
  openDatabase,
  prepare,
  type SQLInputValue,
  transaction,
} from "../store/mod.ts";
import type { RelayStore } from "./store.ts";
import { type Flow, type Row, runSync, type Step } from "./store/flow.ts";
import { RELAY_MIGRATIONS } from "./store/sqlite_schema.ts";
import { SQLITE_QUERIES } from "./store/sqlite_queries.ts";
import { SqlRelayStore } from "./store/sql_store.ts";

export { RELAY_MIGRATIONS };

/** Opens (creating and migrating) a SQLite relay store at `path`. */
export function openSqliteRelayStore(path: string): RelayStore {
  return new SqliteRelayStore(openDatabase(path, RELAY_MIGRATIONS));
}

class SqliteRelayStore extends SqlRelayStore {
  readonly singleWriter = true;

  constructor(private readonly db: DatabaseSync) {
    super();
  }

  /** Runs one flow step on the database. */
  private exec = (step: Step): Row[] | number => {
    const sql = SQLITE_QUERIES[step.name];
    if (sql === null) return step.want === "rows" ? [] : 0;
    // node:sqlite binds no booleans: they are stored as 0/1.
    const params = step.params.map((p): SQLInputValue => typeof p === "boolean" ? Number(p) : p);
    const statement = prepare(this.db, sql);
    if (step.want === "count") return Number(statement.run(...params).changes);
    return statement.all(...params).map((r) => ({ ...r }));
  };

  protected run<T>(flow: Flow<T>): Promise<T> {
    return this.sync(() => runSync(flow, this.exec));
  }

  /** The one transaction helper: now, or in the next group commit when `batchable`. */
  protected atomic<T>(flow: Flow<T>, batchable = false): Promise<T> {
    const fn = () => runSync(flow, this.exec);
    return batchable ? this.grouped(fn) : this.sync(() => transaction(this.db, fn));
  }

  close() {
    return this.sync(() => {
      this.commitGroup();
      this.db.close();
    });
  }

  /** Writes waiting for the next group commit (see {@link grouped}). */
  private waiting: {
    fn: () => unknown;
    resolve: (value: unknown) => void;
    reject: (err: unknown) => void;
  }[] = [];

  /**
   * Runs a write transaction in the next group commit: the writes asked for in one turn of the
   * event loop share one COMMIT (a commit costs more than a small write), each in its own
   * savepoint, so a failing write undoes only itself. A caller gets its result only after the
   * commit: nothing is reported done before it is stored.
   */
  private grouped<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (this.waiting.length === 1) setImmediate(() => this.commitGroup());
    });
  }

  private commitGroup() {
    const writes = this.waiting;
    this.waiting = [];
    if (writes.length === 0) return;
    const results: ({ ok: true; value: unknown } | { ok: false; err: unknown })[] = [];
    try {
      transaction(this.db, () => {
        for (const w of writes) {
          try {
            results.push({ ok: true, value: transaction(this.db, w.fn) });
          } catch (err) {
            results.push({ ok: false, err });
          }
        }
      });
    } catch (err) {
      for (const w of writes) w.reject(err);
      return;
    }
    writes.forEach((w, i) => {
      const r = results[i]!;
      if (r.ok) w.resolve(r.value);
      else w.reject(r.err);
    });
  }

  /** Runs synchronous SQLite work behind the async interface; errors become rejections. */
  private sync<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }
}
