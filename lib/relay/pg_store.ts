/**
 * The relay store on PostgreSQL, for several relay nodes sharing one database (scale-out).
 * The logic is shared with SQLite (store/sql_store.ts); this file runs it on a connection pool
 * and adds what a cluster needs: LISTEN/NOTIFY wake-ups, a shared rate limiter and cross-node
 * serialization of the stateful accept checks.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import postgres from "postgres";
import { fail } from "../protocol/mod.ts";
import type { AgentRecord, ClientRecord, ClusterStore, RelayStore } from "./store.ts";
import { type Flow, type Row, runAsync, type Step } from "./store/flow.ts";
import { PG_MIGRATIONS } from "./store/pg_schema.ts";
import { PG_QUERIES } from "./store/pg_queries.ts";
import { CACHED_WRITES, migrationsToRun, toAgent, toClient } from "./store/rules.ts";
import { TurnBatch } from "./store/turn_batch.ts";
import { PgRowCache, ROWS_CHANNEL } from "./store/pg_row_cache.ts";
import { takeRatesIn } from "./store/pg_rates.ts";
import { PendingPages } from "./store/pg_pending.ts";
import { type AckResult, PgAcks } from "./store/pg_acks.ts";
import { PgVacuum } from "./store/pg_vacuum.ts";
import { SqlRelayStore } from "./store/sql_store.ts";
import type { GroupCommit, GroupHint, GroupOutcome, GroupStore } from "./store/group.ts";
import { PgGroup } from "./pg_group.ts";
import { WriteLane } from "./store/write_lane.ts";

export { PG_MIGRATIONS };

type Sql = postgres.Sql | postgres.TransactionSql;

/** The NOTIFY channel that wakes the node holding a client's session. */
export const WAKE_CHANNEL = "taskferry_wake";
/** The NOTIFY channel that tells other nodes a client's session moved. */
export const SESSION_CHANNEL = "taskferry_session";
/** The NOTIFY channel of presence reports between nodes (issue 17). */
export const PRESENCE_CHANNEL = "taskferry_presence";
/** Connections per relay node's pool when not set (`--db-pool-size`). */
export const DEFAULT_PG_POOL_SIZE = 10;

/** postgres.js codes for a connection that is gone (closing node, database unreachable). */
const CONNECTION_LOST = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
]);

/**
 * Rethrows a lost connection as `unavailable` (a daemon sends again later), anything else as
 * it is: a node that stops mid-accept refuses the envelope instead of failing `internal`.
 */
function lostAsUnavailable(err: unknown): never {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && CONNECTION_LOST.has(code)) {
    throw fail("unavailable", `the relay lost its database connection (${code}); send again`);
  }
  throw err;
}

/** Opens a PostgreSQL relay store: connects, migrates (refusing a newer schema). */
export async function openPgRelayStore(
  url: string,
  opts: { poolSize?: number } = {},
): Promise<PgRelayStore> {
  const sql = postgres(url, {
    max: opts.poolSize ?? DEFAULT_PG_POOL_SIZE,
    onnotice: () => {},
    idle_timeout: 30,
  });
  // Session bookkeeping and wake-ups get their own connection: they never queue behind accept
  // transactions, so a node can release its sessions and stop while the pool is exhausted.
  const control = postgres(url, { max: 1, onnotice: () => {}, idle_timeout: 30 });
  try {
    await migrate(sql);
  } catch (err) {
    await Promise.all([sql.end({ timeout: 1 }), control.end({ timeout: 1 })]);
    throw err;
  }
  return new PgRelayStore(sql, control);
}

async function migrate(sql: postgres.Sql) {
  await sql.begin(async (t) => {
    // One migrator at a time across nodes.
    await t`SELECT pg_advisory_xact_lock(7340001)`;
    await t`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`;
    const rows = await t`SELECT coalesce(max(version), 0) AS v FROM schema_migrations`;
    for (const m of migrationsToRun(Number(rows[0]!.v), PG_MIGRATIONS, "PostgreSQL")) {
      await t.unsafe(m.sql);
      await t`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
    }
  });
}

/** The transaction a call runs in, while it is open. */
interface TxScope {
  t: postgres.TransactionSql;
  open: boolean;
}

/** The PostgreSQL store. */
export class PgRelayStore extends SqlRelayStore implements RelayStore, ClusterStore, GroupCommit {
  /**
   * The transaction of the {@link exclusive} or {@link atomic} call that the current async
   * chain runs in. Every call made inside it (the accept checks, the shared rate check) uses
   * that same connection: a caller holding advisory locks never waits for a second pool
   * connection, so N concurrent accepts cannot exhaust a pool of N and deadlock (issue 21).
   */
  readonly #scope = new AsyncLocalStorage<TxScope>();

  /** This node's accept groups (pg_group.ts). */
  readonly accepts: PgGroup;
  /** Acks, two statements per turn (store/pg_acks.ts). */
  readonly acks: PgAcks;
  /** Wake-ups, one statement per turn on the control connection (store/turn_batch.ts). */
  readonly #wakes = new TurnBatch<never>(async (ids) => {
    await this.control`SELECT pg_notify(${WAKE_CHANNEL}, x) FROM unnest(${ids}::text[]) AS x`;
    return new Map<string, never>();
  });
  /** Agent and client look-ups, coalesced per turn. */
  readonly #agents = new TurnBatch<AgentRecord>(async (handles) => {
    const rows = await this.pool`SELECT * FROM agents WHERE handle = ANY(${handles}::text[])`
      .catch(lostAsUnavailable);
    return new Map(rows.map((r) => [String(r.handle), toAgent(r)]));
  });
  readonly #clients = new TurnBatch<ClientRecord>(async (ids) => {
    const rows = await this.pool`SELECT * FROM clients WHERE id = ANY(${ids}::text[])`
      .catch(lostAsUnavailable);
    return new Map(rows.map((r) => [String(r.id), toClient(r)]));
  });

  /** Client and agent rows kept between frames while this node listens (pg_row_cache.ts). */
  readonly rowCache = new PgRowCache();

  /** Pages of pending deliveries (session pumps), coalesced per turn (store/pg_pending.ts). */
  readonly pendingPages: PendingPages;

  /** Vacuums of the tables this node churns, while it listens (store/pg_vacuum.ts). */
  readonly vacuum: PgVacuum;

  /** This node's statements that insert deliveries, one at a time (store/write_lane.ts). */
  readonly #writes = new WriteLane();

  constructor(private readonly pool: postgres.Sql, private readonly control: postgres.Sql) {
    super();
    const exec = (text: string, params: unknown[]) =>
      pool.unsafe(text, params as string[], { prepare: true }).catch(lostAsUnavailable);
    const write = (text: string, params: unknown[]) => this.#writes.run(() => exec(text, params));
    this.pendingPages = new PendingPages(exec);
    this.acks = new PgAcks(write);
    this.accepts = new PgGroup(exec, write);
    this.vacuum = new PgVacuum((text) => pool.unsafe(text).catch(lostAsUnavailable), {
      writes: () => this.accepts.commits + this.acks.batches,
      deleted: () => this.acks.deleted,
    });
  }

  /** Expired deliveries' `failed` receipts are deliveries too: in this node's write lane. */
  override failExpired(before: number, now: number) {
    return this.#writes.run(() => super.failExpired(before, now));
  }

  /** See `GroupCommit.grouped` (pg_group.ts). */
  grouped<T>(
    fn: (store: GroupStore) => Promise<T>,
    after: (outcome: GroupOutcome<T>, commitError: unknown) => void,
    hint?: GroupHint,
  ): Promise<void> {
    return this.accepts.grouped(fn, after, hint);
  }

  /** See `GroupCommit.afterCommit`. */
  afterCommit(fn: () => void): Promise<void> {
    return this.accepts.afterCommit(fn);
  }

  /** See `GroupCommit.idle`. */
  idle(): Promise<void> {
    return this.accepts.idle();
  }

  /** Several relay nodes may share this store. */
  get cluster(): ClusterStore {
    return this;
  }

  /** The pool (for LISTEN). */
  get sql(): postgres.Sql {
    return this.pool;
  }

  /** The open transaction of this async chain, else the pool. */
  private get q(): Sql {
    const scope = this.#scope.getStore();
    return scope?.open ? scope.t : this.pool;
  }

  /** Runs one flow step on `q`. */
  private exec = async (step: Step): Promise<Row[] | number> => {
    const text = PG_QUERIES[step.name];
    if (text === null) return step.want === "rows" ? [] : 0;
    const result = await this.q.unsafe(text, step.params, { prepare: true });
    return step.want === "count" ? result.count : result;
  };

  protected run<T>(flow: Flow<T>): Promise<T> {
    return this.#dropsKeptRows((exec) => runAsync(flow, exec).catch(lostAsUnavailable));
  }

  /** Runs `flow` in a transaction (acks do not come here: see {@link ackDelivery}). */
  protected atomic<T>(flow: Flow<T>): Promise<T> {
    return this.#dropsKeptRows((exec) => this.tx(() => runAsync(flow, exec)));
  }

  /**
   * Runs `fn` with {@link exec}; when a step changes rows this node keeps (pg_row_cache.ts),
   * they are dropped as it runs and again once `fn` settles (committed or not): rows read in
   * between may predate it. Other nodes hear of it from the trigger's notification.
   */
  #dropsKeptRows<T>(fn: (exec: (step: Step) => Promise<Row[] | number>) => Promise<T>) {
    let wrote = false;
    return fn((step) => {
      if (CACHED_WRITES.has(step.name)) {
        wrote = true;
        this.rowCache.written();
      }
      return this.exec(step);
    }).finally(() => {
      if (wrote) this.rowCache.written();
    });
  }

  /**
   * Marks a delivery acked and queues its sender's receipt. Outside a transaction, the acks of
   * one turn cost two statements together, without BEGIN and COMMIT (store/pg_acks.ts); each
   * resolves after its write committed.
   */
  override ackDelivery(clientId: string, seq: number, now: number): Promise<AckResult> {
    if (this.#scope.getStore()?.open) return super.ackDelivery(clientId, seq, now);
    return this.acks.ack(clientId, seq, now);
  }

  /**
   * The one transaction helper: joins the caller's open transaction, else begins one on a
   * pool connection and makes it the scope of everything `fn` calls.
   */
  private async tx<T>(fn: (t: Sql) => Promise<T>): Promise<T> {
    const scope = this.#scope.getStore();
    if (scope?.open) return await fn(scope.t);
    return await this.pool.begin((t) => {
      const inner: TxScope = { t, open: true };
      return this.#scope.run(inner, () => fn(t)).finally(() => inner.open = false);
    }).catch(lostAsUnavailable) as T;
  }

  /**
   * Runs `fn` in one transaction holding advisory locks on `keys`: the stateful accept checks
   * and the write see and change a consistent state across every node. The locks are
   * transaction-scoped and the transaction waits on nothing but its own statements.
   */
  async exclusive<T>(keys: string[], fn: (store: RelayStore) => Promise<T>): Promise<T> {
    return await this.tx(async (t) => {
      // One round trip, in lock-id order (two keys may share a hash: ordering the ids, not
      // the keys, is what keeps two nodes from taking the same two locks in opposite order).
      await t`SELECT pg_advisory_xact_lock(k) FROM
        (SELECT DISTINCT hashtext(x) AS k FROM unnest(${keys}::text[]) AS x ORDER BY k) AS l`;
      return await fn(this);
    });
  }

  /**
   * Shared sliding-window rate check: null (and counted) when every key is under its limit,
   * else the first key over. Atomic across nodes: the row locks of the upserts order
   * concurrent callers. Inside {@link exclusive} it joins that transaction.
   */
  takeRates(keys: [string, number][], now: number, windowMs = 60_000): Promise<string | null> {
    return this.tx((t) => takeRatesIn(t, keys, now, windowMs));
  }

  async listen(
    onWake: (clientId: string) => void,
    onSession: (clientId: string, nodeId: string) => void,
  ): Promise<() => Promise<void>> {
    const wake = await this.pool.listen(WAKE_CHANNEL, (payload) => onWake(payload));
    const moved = await this.pool.listen(SESSION_CHANNEL, (payload) => {
      try {
        const { client_id, node_id } = JSON.parse(payload) as {
          client_id: string;
          node_id: string;
        };
        onSession(client_id, node_id);
      } catch {
        // not ours
      }
    });
    // Rows are kept only while changes are heard: from each (re)start of listening.
    const rows = await this.pool.listen(
      ROWS_CHANNEL,
      (payload) => this.rowCache.changed(payload),
      () => this.rowCache.listening(),
    );
    this.vacuum.start();
    return async () => {
      this.vacuum.stop();
      this.rowCache.off();
      await wake.unlisten();
      await moved.unlisten();
      await rows.unlisten();
    };
  }

  /** Tells every node a presence report (lib/relay/presence.ts). */
  async notifyPresence(payload: string) {
    await this.control.notify(PRESENCE_CHANNEL, payload);
  }

  /** Subscribes to presence reports of every node (this one's too; presence skips its own). */
  async listenPresence(onReport: (payload: string) => void) {
    const sub = await this.pool.listen(PRESENCE_CHANNEL, onReport);
    return async () => void await sub.unlisten();
  }

  /**
   * Sends a wake-up for `clientId` to every node. The wake-ups of one turn go in one statement,
   * one per client: a burst of envelopes for a client on another node wakes it once, instead
   * of costing a round trip each on the one control connection. As with look-ups, one such
   * statement runs at a time; wake-ups asked for meanwhile go in the next.
   */
  notifyWake(clientId: string): Promise<void> {
    return this.#wakes.get(clientId).then(() => {});
  }

  /**
   * An agent by handle. Outside a transaction, the look-ups of one turn (one per envelope: its
   * sender's signing key) share one statement (store/turn_batch.ts).
   */
  override getAgent(handle: string): Promise<AgentRecord | null> {
    if (this.#scope.getStore()?.open) return super.getAgent(handle);
    return this.#agents.get(handle);
  }

  /** The agent as this node keeps it (pg_row_cache.ts); read when not kept. */
  keptAgent(handle: string): Promise<AgentRecord | null> {
    return this.rowCache.agent(handle, () => this.getAgent(handle));
  }

  /** The client as this node keeps it (pg_row_cache.ts); read when not kept. */
  keptClient(id: string): Promise<ClientRecord | null> {
    return this.rowCache.client(id, () => this.getClient(id));
  }

  /**
   * A client by id, read (per-frame checks use {@link keptClient}). Outside a transaction, the
   * look-ups of one turn share one statement.
   */
  override getClient(id: string): Promise<ClientRecord | null> {
    if (this.#scope.getStore()?.open) return super.getClient(id);
    return this.#clients.get(id);
  }

  /**
   * Pending deliveries of a client. Outside a transaction, the pages asked for in one turn
   * (each pumping session's) share one statement.
   */
  override pendingDeliveries(clientId: string, afterSeq: number, limit: number) {
    if (this.#scope.getStore()?.open) return super.pendingDeliveries(clientId, afterSeq, limit);
    return this.pendingPages.get(clientId, afterSeq, limit);
  }

  /** Records that `nodeId` holds `clientId`'s session and tells the other nodes. */
  async claimSession(clientId: string, nodeId: string, now: number) {
    await this
      .control`INSERT INTO relay_sessions (client_id, node_id, connected_at) VALUES (${clientId}, ${nodeId}, ${now})
      ON CONFLICT (client_id) DO UPDATE SET node_id = excluded.node_id, connected_at = excluded.connected_at`;
    await this.control.notify(
      SESSION_CHANNEL,
      JSON.stringify({ client_id: clientId, node_id: nodeId }),
    );
  }

  /** Forgets the session record if this node still holds it. */
  async releaseSession(clientId: string, nodeId: string) {
    await this
      .control`DELETE FROM relay_sessions WHERE client_id = ${clientId} AND node_id = ${nodeId}`;
  }

  /** Closes both connections; transactions still waiting after 2 s are cut off. */
  async close() {
    this.vacuum.stop();
    await Promise.all([this.pool.end({ timeout: 2 }), this.control.end({ timeout: 2 })]);
  }
}
