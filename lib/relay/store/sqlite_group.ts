/**
 * The SQLite relay store's write scheduling (see group.ts): one write transaction per turn of
 * the event loop, shared by the accepts that ran in it (one at a time) and by the batchable
 * writes (acks) asked for in it, then one COMMIT.
 *
 * A refused accept undoes only its own writes. Its envelope and delivery rows are undone by
 * deleting them again ({@link SqliteGroup.undoable}), so an accept opens a savepoint only
 * before a write nothing else undoes (effects such as a link or a task): a savepoint costs a
 * statement each way and a copy of every page it changes that the group changed before, ~3.5
 * µs of CPU per accept (issue 21, third pass). If undoing fails, or SQLite rolled the whole
 * transaction back itself, the group is broken: nothing more runs in it and its COMMIT fails,
 * so every accept and ack in it is refused (`internal`: daemons send again).
 *
 * While that transaction is open, every other store call waits until after the COMMIT: a read must not see rows that
 * are not stored yet (a pump would push them), and a write must not report success before its
 * COMMIT. The transaction only spans synchronous statements and the microtasks between the
 * grouped accepts, so the wait is under one turn.
 * @module
 */
import { setImmediate } from "node:timers";
import { type DatabaseSync, prepare, type SQLInputValue } from "../../store/mod.ts";
import { logger } from "../../log.ts";
import type { GroupOutcome } from "./group.ts";

const log = logger("relay");

interface Write {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Runs `fn` now, as a promise: errors become rejections. */
export function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** One connection's group commit. */
export class SqliteGroup {
  /** BEGIN IMMEDIATE ran; the COMMIT is scheduled. */
  private open = false;
  /** A grouped accept is running (the COMMIT waits for it). */
  private active = false;
  /** The running accept opened the savepoint. */
  private savepointOpen = false;
  /** How to undo the running accept's writes made before any savepoint: SQL and its key. */
  private undo: [sql: string, key: SQLInputValue][] = [];
  /** Why the open transaction cannot commit (see the module comment); undefined: it can. */
  private broken: unknown = undefined;
  private scheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private writes: Write[] = [];
  private hooks: ((commitError: unknown) => void)[] = [];
  private deferred: (() => void)[] = [];
  /** COMMITs so far (tests, benchmarks). */
  commits = 0;

  /**
   * `onRollback` runs whenever work is undone (a savepoint rolled back, a failed COMMIT): what
   * was cached from rows written inside the transaction must be forgotten.
   */
  constructor(
    private readonly db: DatabaseSync,
    private readonly onCommit: () => void,
    private readonly onRollback: () => void = () => {},
  ) {}

  /**
   * Runs a control statement, prepared once: grouped work runs one piece at a time, so one
   * savepoint name serves all of it (db.exec would parse the text again on every call).
   */
  private control(
    sql:
      | "BEGIN IMMEDIATE"
      | "COMMIT"
      | "ROLLBACK"
      | `${"SAVEPOINT" | "RELEASE" | "ROLLBACK TO"} tf_group`,
  ) {
    prepare(this.db, sql).run();
  }

  /** Runs `fn` in the group's savepoint: undone alone when it throws. */
  private inSavepointSync<T>(fn: () => T): T {
    this.control("SAVEPOINT tf_group");
    let value: T;
    try {
      value = fn();
    } catch (err) {
      this.undoSavepoint();
      throw err;
    }
    this.control("RELEASE tf_group");
    return value;
  }

  private undoSavepoint() {
    this.onRollback();
    // SQLite rolls some failures back by itself: then the whole group is lost.
    if (!this.db.isTransaction) {
      this.broken ??= new Error("the transaction was rolled back");
      return;
    }
    this.control("ROLLBACK TO tf_group");
    this.control("RELEASE tf_group");
  }

  /**
   * Inside a grouped accept, after a write: `sql` with `key` (one parameter) undoes it, should
   * the accept be refused. Written under a savepoint, it needs no undo of its own.
   */
  undoable(sql: string, key: SQLInputValue) {
    if (this.active && !this.savepointOpen) this.undo.push([sql, key]);
  }

  /** Inside a grouped accept, before a write that only a savepoint can undo: opens it. */
  savepoint() {
    if (!this.active || this.savepointOpen) return;
    this.control("SAVEPOINT tf_group");
    this.savepointOpen = true;
  }

  /** Undoes the refused accept's writes; on failure the group is broken. */
  private undoAccept() {
    try {
      if (this.savepointOpen) this.undoSavepoint();
      else this.onRollback();
      if (!this.db.isTransaction) throw new Error("the transaction was rolled back");
      // Newest first: a delivery before its envelope.
      for (const [sql, key] of this.undo.reverse()) prepare(this.db, sql).run(key);
    } catch (err) {
      this.broken ??= err;
    }
  }

  /** Runs `fn` (statements on the connection) now, or after the open group's COMMIT. */
  call<T>(fn: () => T): Promise<T> {
    if (!this.open) return settle(fn);
    return new Promise<T>((resolve, reject) => {
      this.deferred.push(() => {
        try {
          resolve(fn());
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  /** Runs `fn` in its own savepoint in the next COMMIT; resolves after that COMMIT. */
  write<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.writes.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** See `GroupCommit.grouped`. */
  grouped<T>(
    fn: () => Promise<T>,
    after: (outcome: GroupOutcome<T>, commitError: unknown) => void,
  ): Promise<void> {
    const entered = this.chain.then(async () => {
      const outcome = await this.inGroup(fn);
      return { done: this.afterCommitWith((err) => after(outcome, err)) };
    });
    this.chain = entered.then(() => {}, () => {});
    return entered.then((e) => e.done);
  }

  /** See `GroupCommit.afterCommit`: after the grouped work asked for so far. */
  afterCommit(fn: () => void): Promise<void> {
    const entered = this.chain.then(() => ({ done: this.afterCommitWith(() => fn()) }));
    this.chain = entered.then(() => {}, () => {});
    return entered.then((e) => e.done);
  }

  /** Resolves when every grouped accept so far has committed and answered. */
  idle(): Promise<void> {
    return this.afterCommit(() => {});
  }

  private afterCommitWith(fn: (commitError: unknown) => void): Promise<void> {
    if (!this.open) {
      try {
        fn(undefined);
      } catch (err) {
        log.error("after-commit callback failed", { err });
      }
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.hooks.push((err) => {
        try {
          fn(err);
        } finally {
          resolve();
        }
      });
    });
  }

  private async inGroup<T>(fn: () => Promise<T>): Promise<GroupOutcome<T>> {
    // A broken group runs nothing more: its statements would not be in its transaction.
    if (this.broken !== undefined) return { ok: false, error: this.broken };
    try {
      if (!this.open) {
        this.control("BEGIN IMMEDIATE");
        this.open = true;
      }
    } catch (error) {
      return { ok: false, error };
    }
    this.active = true;
    this.savepointOpen = false;
    this.undo = [];
    try {
      const value = await fn();
      if (this.savepointOpen) this.control("RELEASE tf_group");
      return { ok: true, value };
    } catch (error) {
      this.undoAccept();
      return { ok: false, error };
    } finally {
      this.active = false;
      this.savepointOpen = false;
      this.undo = [];
      this.schedule();
    }
  }

  private schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      // An accept still inside its savepoint schedules the COMMIT again when it leaves it.
      if (!this.active) this.commit();
    });
  }

  /** Commits the open group (and the batched writes); then answers everyone in order. */
  commit() {
    const writes = this.writes;
    this.writes = [];
    const results: GroupOutcome<unknown>[] = [];
    let commitError: unknown = undefined;
    if (this.open || writes.length > 0) {
      try {
        if (!this.open) {
          this.control("BEGIN IMMEDIATE");
          this.open = true;
        }
        for (const w of writes) {
          if (this.broken !== undefined) throw this.broken;
          try {
            results.push({ ok: true, value: this.inSavepointSync(w.fn) });
          } catch (error) {
            results.push({ ok: false, error });
          }
        }
        if (this.broken !== undefined) throw this.broken;
        this.control("COMMIT");
        this.commits++;
      } catch (err) {
        commitError = err ?? new Error("COMMIT failed");
        this.onRollback();
        try {
          if (this.db.isTransaction) this.control("ROLLBACK");
        } catch {
          // the connection already rolled back
        }
      }
      this.open = false;
      this.broken = undefined;
      if (commitError === undefined) this.onCommit();
    }
    const hooks = this.hooks;
    this.hooks = [];
    for (const hook of hooks) {
      try {
        hook(commitError);
      } catch (err) {
        log.error("after-commit callback failed", { err });
      }
    }
    writes.forEach((w, i) => {
      const r = results[i];
      if (commitError !== undefined || !r) w.reject(commitError);
      else if (r.ok) w.resolve(r.value);
      else w.reject(r.error);
    });
    const deferred = this.deferred;
    this.deferred = [];
    for (const d of deferred) d();
  }
}
