/**
 * The relay store on SQLite (default): one relay process per database file. The logic is
 * shared with PostgreSQL (store/sql_store.ts); this file runs it synchronously on node:sqlite,
 * with group commit of accepts and acks (store/sqlite_group.ts), cached client, agent and link rows
 * (store/row_cache.ts) and WAL checkpoints in a Worker (lib/store/checkpoint.ts).
 */
import {
  type CheckpointOptions,
  type DatabaseSync,
  DEFAULT_CHECKPOINT_OPTIONS,
  openDatabase,
  prepare,
  type SQLInputValue,
  transaction,
  WalCheckpointer,
} from "../store/mod.ts";
import type { AcceptEffects, EnvelopeRow } from "./store.ts";
import { type Flow, type Row, runSync, type Step } from "./store/flow.ts";
import * as flows from "./store/flows.ts";
import type { GroupCommit, GroupOutcome, GroupStore } from "./store/group.ts";
import { RowCache } from "./store/row_cache.ts";
import { CACHED_WRITES } from "./store/rules.ts";
import { type AckItem, type AckResult, runAcks } from "./store/sqlite_acks.ts";
import { settle, SqliteGroup } from "./store/sqlite_group.ts";
import { ReceiptFactsCache } from "./store/sqlite_receipts.ts";
import { RELAY_MIGRATIONS } from "./store/sqlite_schema.ts";
import {
  INSERTS_RETURNING_SEQ,
  READ_QUERIES,
  SQLITE_QUERIES,
  UNDO_SQL,
} from "./store/sqlite_queries.ts";
import { SqlRelayStore } from "./store/sql_store.ts";

export { RELAY_MIGRATIONS };

/** Options for {@link openSqliteRelayStore}. */
export interface SqliteRelayStoreOptions {
  /** Checkpoint settings, or false to leave checkpoints to SQLite (inline, on commit). */
  checkpoint?: CheckpointOptions | false;
}

/** Opens (creating and migrating) a SQLite relay store at `path`. */
export function openSqliteRelayStore(
  path: string,
  options: SqliteRelayStoreOptions = {},
): SqliteRelayStore {
  const db = openDatabase(path, RELAY_MIGRATIONS);
  const checkpoint = options.checkpoint ?? DEFAULT_CHECKPOINT_OPTIONS;
  const memory = path === ":memory:" || path === "";
  const checkpointer = checkpoint && !memory ? new WalCheckpointer(db, path, checkpoint) : null;
  return new SqliteRelayStore(db, checkpointer);
}

/** What the main store and its in-transaction view share. */
interface Core {
  db: DatabaseSync;
  cache: RowCache;
  /** Receipt facts of envelopes accepted by this process (store/sqlite_receipts.ts). */
  facts: ReceiptFactsCache;
  exec: (step: Step) => Row[] | number;
  /** Counts a COMMIT (for the checkpointer). */
  committed: () => void;
}

/** Store methods over one connection; subclasses say when a call runs. */
abstract class SqliteFlows extends SqlRelayStore {
  constructor(protected readonly core: Core) {
    super();
  }

  /** Runs statements now or later (see {@link SqliteGroup.call}). */
  protected abstract call<T>(fn: () => T): Promise<T>;

  protected run<T>(flow: Flow<T>): Promise<T> {
    return this.call(() => runSync(flow, this.core.exec));
  }

  protected atomic<T>(flow: Flow<T>, _batchable?: boolean): Promise<T> {
    return this.call(() => {
      const value = transaction(this.core.db, () => runSync(flow, this.core.exec));
      if (!this.core.db.isTransaction) this.core.committed();
      return value;
    });
  }

  override getClient(id: string) {
    const hit = this.core.cache.client(id);
    if (hit !== undefined) return Promise.resolve(hit);
    // Read and cached in one synchronous step: no write can slip in between.
    return this.call(() => {
      const row = runSync(flows.getClient(id), this.core.exec);
      this.core.cache.putClient(id, row);
      return row;
    });
  }

  override getLink(sender: string, recipient: string) {
    const hit = this.core.cache.link(sender, recipient);
    if (hit !== undefined) return Promise.resolve(hit);
    return this.call(() => {
      const row = runSync(flows.getLink(sender, recipient), this.core.exec);
      this.core.cache.putLink(sender, recipient, row);
      return row;
    });
  }

  override getAgent(handle: string) {
    const hit = this.core.cache.agent(handle);
    if (hit !== undefined) return Promise.resolve(hit);
    return this.call(() => {
      const row = runSync(flows.getAgent(handle), this.core.exec);
      this.core.cache.putAgent(handle, row);
      return row;
    });
  }
}

/** The store as the grouped accepts see it: inside the open transaction, statements run now. */
class InGroup extends SqliteFlows implements GroupStore {
  protected call<T>(fn: () => T): Promise<T> {
    return settle(fn);
  }

  insertEnvelope(envelope: EnvelopeRow) {
    return this.run(flows.insertEnvelope(envelope));
  }

  queueEnvelope(envelope: EnvelopeRow, recipientClients: string[], effects: AcceptEffects) {
    return this.call(() => {
      const flow = flows.queueEnvelope(envelope, recipientClients, effects);
      const queued = runSync(flow, this.core.exec);
      const { sender_client, accepted_at } = envelope;
      const recipients = [...envelope.to];
      this.core.facts.stage(envelope.id, { sender_client, recipients, accepted_at }, queued.length);
      return queued;
    });
  }

  close(): Promise<void> {
    return Promise.reject(new Error("the store cannot be closed from inside a group commit"));
  }
}

/** The SQLite relay store. */
export class SqliteRelayStore extends SqliteFlows implements GroupCommit {
  readonly singleWriter = true;
  private readonly group: SqliteGroup;
  private readonly view: InGroup;
  /** Acks asked for since the batch's write was queued (see store/sqlite_acks.ts). */
  private acks: (AckItem & { resolve: (r: AckResult) => void; reject: (e: unknown) => void })[] =
    [];

  constructor(db: DatabaseSync, readonly checkpointer: WalCheckpointer | null) {
    const cache = new RowCache(db);
    const exec = (step: Step): Row[] | number => {
      const sql = SQLITE_QUERIES[step.name];
      if (sql === null) return step.want === "rows" ? [] : 0;
      // node:sqlite binds no booleans: they are stored as 0/1.
      const params = step.params.map((p): SQLInputValue => typeof p === "boolean" ? Number(p) : p);
      const statement = prepare(db, sql);
      if (INSERTS_RETURNING_SEQ.has(step.name)) {
        return [{ seq: Number(statement.run(...params).lastInsertRowid) }];
      }
      // Rows as node:sqlite returns them (null-prototype objects): rules.ts only reads fields.
      if (step.want === "rows") return statement.all(...params) as Row[];
      const changes = Number(statement.run(...params).changes);
      if (CACHED_WRITES.has(step.name)) cache.clear();
      // A write outside a transaction is a commit of its own.
      if (!db.isTransaction) committed();
      return changes;
    };
    const committed = () => checkpointer?.committed();
    const facts = new ReceiptFactsCache();
    const core = { db, cache, facts, exec, committed };
    super(core);
    // Inside a grouped accept: a row the undo can delete is noted; any other write opens the
    // accept's savepoint first (store/sqlite_group.ts).
    const viewExec = (step: Step): Row[] | number => {
      if (READ_QUERIES.has(step.name)) return exec(step);
      const undo = UNDO_SQL[step.name];
      if (undo === undefined) {
        this.group.savepoint();
        return exec(step);
      }
      const result = exec(step);
      const key = typeof result === "number"
        ? (result > 0 ? step.params[0] : undefined)
        : result[0]?.seq;
      if (typeof key === "string" || typeof key === "number") this.group.undoable(undo, key);
      return result;
    };
    this.view = new InGroup({ ...core, exec: viewExec });
    // Rows cached from inside a transaction that is undone would outlive it: forget them.
    this.group = new SqliteGroup(db, () => {
      facts.committed();
      committed();
    }, () => {
      cache.clear();
      facts.rolledBack();
    });
  }

  /** Cache hits and misses, COMMITs, envelopes with receipt facts kept (tests, benchmarks). */
  get cacheStats(): { hits: number; misses: number; commits: number; facts: number } {
    const { hits, misses } = this.core.cache;
    return { hits, misses, commits: this.group.commits, facts: this.core.facts.size };
  }

  protected override call<T>(fn: () => T): Promise<T> {
    return this.group.call(fn);
  }

  /** Batchable writes (acks) share the next group COMMIT; others run in their own. */
  protected override atomic<T>(flow: Flow<T>, batchable = false): Promise<T> {
    if (!batchable) return super.atomic(flow);
    return this.group.write(() => runSync(flow, this.core.exec));
  }

  /**
   * The turn's acks share one write of the next COMMIT (store/sqlite_acks.ts). If that batch
   * throws, its savepoint was undone: each ack runs again alone (the shared flow), answering
   * for itself; a failed COMMIT (or BEGIN) fails them all, as before.
   */
  override ackDelivery(clientId: string, seq: number, now: number): Promise<AckResult> {
    return new Promise((resolve, reject) => {
      this.acks.push({ clientId, seq, now, resolve, reject });
      if (this.acks.length > 1) return;
      let batchThrew = false;
      let ran = false;
      let items: typeof this.acks = [];
      this.group.write(() => {
        ran = true;
        items = this.acks;
        this.acks = [];
        try {
          return runAcks(this.core.db, items, this.core.facts);
        } catch (err) {
          batchThrew = true;
          throw err;
        }
      }).then(
        (results) => items.forEach((item, i) => item.resolve(results[i]!)),
        (err) => {
          // The transaction failed before the batch ran (BEGIN, a broken group): the acks
          // waiting for it fail with it (and later acks schedule a batch of their own).
          if (!ran) {
            items = this.acks;
            this.acks = [];
          }
          for (const item of items) {
            if (!batchThrew) item.reject(err);
            else {
              const flow = () =>
                runSync(flows.ackDelivery(item.clientId, item.seq, item.now), this.core.exec);
              this.group.write(flow).then(item.resolve, item.reject);
            }
          }
        },
      );
    });
  }

  /** See `GroupCommit.grouped`; here `fn` sees the whole store, inside the open transaction. */
  grouped<T>(
    fn: (store: InGroup) => Promise<T>,
    after: (outcome: GroupOutcome<T>, commitError: unknown) => void,
  ): Promise<void> {
    return this.group.grouped(() => fn(this.view), after);
  }

  afterCommit(fn: () => void): Promise<void> {
    return this.group.afterCommit(fn);
  }

  idle(): Promise<void> {
    return this.group.idle();
  }

  async close() {
    await this.group.idle();
    this.group.commit();
    await this.checkpointer?.close();
    this.core.db.close();
  }
}
