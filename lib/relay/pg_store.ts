/**
 * The relay store on PostgreSQL, for several relay nodes sharing one database (scale-out).
 * Same interface and semantics as the SQLite store; adds LISTEN/NOTIFY wake-ups, a shared rate
 * limiter and cross-node serialization of the stateful accept checks.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import postgres from "postgres";
import { fail, PermissionsSchema, TERMINAL_STATES } from "../protocol/mod.ts";
import type {
  AcceptEffects,
  AgentRecord,
  ClientRecord,
  ClusterStore,
  DeliveryRow,
  EnvelopeRow,
  InviteRecord,
  ReceiptBody,
  RelayStore,
  RelayTask,
  StoreStats,
} from "./store.ts";

type Sql = postgres.Sql | postgres.TransactionSql;

/** PostgreSQL migrations, in order. */
export const PG_MIGRATIONS: { version: number; name: string; sql: string }[] = [{
  version: 1,
  name: "relay schema",
  sql: `
    CREATE TABLE clients (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL, created_at BIGINT NOT NULL,
      revoked_at BIGINT);
    CREATE TABLE agents (handle TEXT PRIMARY KEY, client_id TEXT NOT NULL REFERENCES clients(id),
      signing_public_key TEXT NOT NULL, encryption_public_key TEXT NOT NULL, profile TEXT NOT NULL,
      public BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
    CREATE INDEX agents_public ON agents(public, handle);
    CREATE TABLE invites (code TEXT PRIMARY KEY, agent TEXT NOT NULL REFERENCES agents(handle),
      client_id TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
      revoked BOOLEAN NOT NULL DEFAULT false, uses INTEGER NOT NULL DEFAULT 0, max_uses INTEGER);
    CREATE TABLE invite_grants (client_id TEXT NOT NULL, agent TEXT NOT NULL, created_at BIGINT NOT NULL,
      PRIMARY KEY (client_id, agent));
    CREATE TABLE links (sender TEXT NOT NULL, recipient TEXT NOT NULL, permissions TEXT NOT NULL,
      created_at BIGINT NOT NULL, PRIMARY KEY (sender, recipient));
    CREATE INDEX links_recipient ON links(recipient);
    CREATE TABLE pending_requests (from_handle TEXT NOT NULL, to_handle TEXT NOT NULL,
      request_id TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (from_handle, to_handle));
    CREATE TABLE tasks (id TEXT PRIMARY KEY, requester TEXT NOT NULL, worker TEXT NOT NULL,
      state TEXT NOT NULL, snapshot TEXT NOT NULL, updated_at BIGINT NOT NULL);
    CREATE INDEX tasks_parties ON tasks(requester, worker, state);
    CREATE TABLE envelopes (id TEXT PRIMARY KEY, sender_client TEXT NOT NULL, from_handle TEXT NOT NULL,
      recipients TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL, accepted_at BIGINT NOT NULL);
    CREATE INDEX envelopes_accepted ON envelopes(accepted_at);
    CREATE TABLE deliveries (seq BIGSERIAL PRIMARY KEY, client_id TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('envelope', 'receipt')), envelope_id TEXT NOT NULL, body TEXT,
      state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
      attempts INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, done_at BIGINT);
    CREATE INDEX deliveries_pending ON deliveries(client_id, state, seq);
    CREATE INDEX deliveries_done ON deliveries(state, done_at);
    CREATE INDEX deliveries_created ON deliveries(state, created_at);
    CREATE INDEX deliveries_envelope ON deliveries(envelope_id);
    -- Which node holds each client's session (a client has one session at a time).
    CREATE TABLE relay_sessions (client_id TEXT PRIMARY KEY, node_id TEXT NOT NULL,
      connected_at BIGINT NOT NULL);
    -- Rate-limit windows shared by every node.
    CREATE TABLE rate_windows (key TEXT NOT NULL, window_start BIGINT NOT NULL, count INTEGER NOT NULL,
      PRIMARY KEY (key, window_start));
  `,
}];

/** The NOTIFY channel that wakes the node holding a client's session. */
export const WAKE_CHANNEL = "taskferry_wake";
/** The NOTIFY channel that tells other nodes a client's session moved. */
export const SESSION_CHANNEL = "taskferry_session";

const OPEN_STATES = TERMINAL_STATES.map((s) => `'${s}'`).join(", ");

interface AgentRow {
  handle: string;
  client_id: string;
  signing_public_key: string;
  encryption_public_key: string;
  profile: string;
  public: boolean;
  created_at: string | number;
  updated_at: string | number;
}

function toAgent(r: AgentRow): AgentRecord {
  return {
    handle: r.handle,
    client_id: r.client_id,
    signing_public_key: r.signing_public_key,
    encryption_public_key: r.encryption_public_key,
    profile: JSON.parse(r.profile),
    public: r.public,
    created_at: Number(r.created_at),
    updated_at: Number(r.updated_at),
  };
}

function toClient(r: Record<string, unknown>): ClientRecord {
  return {
    id: String(r.id),
    token_hash: String(r.token_hash),
    created_at: Number(r.created_at),
    revoked_at: r.revoked_at === null ? null : Number(r.revoked_at),
  };
}

/** Connections per relay node's pool when not set (`--db-pool-size`). */
export const DEFAULT_PG_POOL_SIZE = 10;

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
    const current = Number(rows[0]!.v);
    const latest = PG_MIGRATIONS.at(-1)!.version;
    if (current > latest) {
      throw fail(
        "database_too_new",
        `the PostgreSQL database is at schema version ${current}; this TaskFerry knows up to ${latest}: upgrade TaskFerry`,
      );
    }
    for (const m of PG_MIGRATIONS) {
      if (m.version <= current) continue;
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
export class PgRelayStore implements RelayStore, ClusterStore {
  /**
   * The transaction of the {@link exclusive} or {@link tx} call that the current async chain
   * runs in. Every call made inside it (the accept checks, the shared rate check) uses that
   * same connection: a caller holding advisory locks never waits for a second pool
   * connection, so N concurrent accepts cannot exhaust a pool of N and deadlock (issue 21).
   */
  readonly #scope = new AsyncLocalStorage<TxScope>();

  constructor(private readonly pool: postgres.Sql, private readonly control: postgres.Sql) {}

  /** The open transaction of this async chain, else the pool. */
  private get q(): Sql {
    const scope = this.#scope.getStore();
    return scope?.open ? scope.t : this.pool;
  }

  /** Runs `fn` in a transaction: the caller's open one, else a new one from the pool. */
  private async tx<T>(fn: (t: Sql) => Promise<T>): Promise<T> {
    const scope = this.#scope.getStore();
    if (scope?.open) return await fn(scope.t);
    return await this.pool.begin((t) => {
      const inner: TxScope = { t, open: true };
      return this.#scope.run(inner, () => fn(t)).finally(() => inner.open = false);
    }) as T;
  }

  /** Several relay nodes may share this store. */
  get cluster(): ClusterStore {
    return this;
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
    return async () => {
      await wake.unlisten();
      await moved.unlisten();
    };
  }

  /** The pool (for LISTEN). */
  get sql(): postgres.Sql {
    return this.pool;
  }

  /**
   * Runs `fn` in one transaction holding advisory locks on `keys` (sorted, so nodes never
   * deadlock): the stateful accept checks and the write see and change a consistent state
   * across every node.
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

  /** Sends a wake-up for `clientId` to every node. */
  async notifyWake(clientId: string) {
    await this.control.notify(WAKE_CHANNEL, clientId);
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

  /**
   * Shared sliding-window rate check: true (and counted) when every key is under its limit.
   * Atomic across nodes: the row locks of the upserts order concurrent callers.
   */
  async takeRates(
    keys: [string, number][],
    now: number,
    windowMs = 60_000,
  ): Promise<string | null> {
    const start = now - (now % windowMs);
    const weight = 1 - (now - start) / windowMs;
    // Inside exclusive() this joins its transaction (see #scope) instead of taking a second
    // pool connection while the first holds advisory locks.
    return await this.tx(async (t) => {
      for (const [key, limit] of keys) {
        const rows = await t`SELECT window_start, count FROM rate_windows
          WHERE key = ${key} AND window_start IN (${start}, ${start - windowMs}) FOR UPDATE`;
        let current = 0;
        let previous = 0;
        for (const r of rows) {
          if (Number(r.window_start) === start) current = Number(r.count);
          else previous = Number(r.count);
        }
        if (previous * weight + current >= limit) return key;
      }
      for (const [key] of keys) {
        await t`INSERT INTO rate_windows (key, window_start, count) VALUES (${key}, ${start}, 1)
          ON CONFLICT (key, window_start) DO UPDATE SET count = rate_windows.count + 1`;
      }
      return null;
    });
  }

  async addClient(id: string, tokenHash: string, now: number) {
    const rows = await this
      .q`INSERT INTO clients (id, token_hash, created_at) VALUES (${id}, ${tokenHash}, ${now})
      ON CONFLICT (id) DO NOTHING RETURNING id`;
    if (rows.length === 0) throw fail("conflict", `client ${id} already exists`);
  }

  async getClient(id: string) {
    const rows = await this.q`SELECT * FROM clients WHERE id = ${id}`;
    return rows[0] ? toClient(rows[0]) : null;
  }

  async listClients() {
    return (await this.q`SELECT * FROM clients ORDER BY id`).map(toClient);
  }

  async revokeClient(id: string, now: number) {
    return (await this
      .q`UPDATE clients SET revoked_at = ${now} WHERE id = ${id} AND revoked_at IS NULL`).count > 0;
  }

  async setClientToken(id: string, tokenHash: string) {
    return (await this
      .q`UPDATE clients SET token_hash = ${tokenHash} WHERE id = ${id} AND revoked_at IS NULL`)
      .count > 0;
  }

  async getAgent(handle: string) {
    const rows = await this.q<AgentRow[]>`SELECT * FROM agents WHERE handle = ${handle}`;
    return rows[0] ? toAgent(rows[0]) : null;
  }

  async putAgent(a: AgentRecord) {
    await this
      .q`INSERT INTO agents (handle, client_id, signing_public_key, encryption_public_key, profile, public,
        created_at, updated_at)
      VALUES (${a.handle}, ${a.client_id}, ${a.signing_public_key}, ${a.encryption_public_key},
        ${JSON.stringify(a.profile)}, ${a.public}, ${a.created_at}, ${a.updated_at})
      ON CONFLICT (handle) DO UPDATE SET signing_public_key = excluded.signing_public_key,
        encryption_public_key = excluded.encryption_public_key, profile = excluded.profile,
        public = excluded.public, updated_at = excluded.updated_at`;
  }

  async listPublicAgents(limit: number) {
    const rows = await this.q<
      AgentRow[]
    >`SELECT a.* FROM agents a JOIN clients c ON c.id = a.client_id
      WHERE a.public AND c.revoked_at IS NULL ORDER BY a.handle LIMIT ${limit}`;
    return rows.map(toAgent);
  }

  async createInvite(i: InviteRecord) {
    await this
      .q`INSERT INTO invites (code, agent, client_id, created_at, expires_at, revoked, uses, max_uses)
      VALUES (${i.code}, ${i.agent}, ${i.client_id}, ${i.created_at}, ${i.expires_at}, ${i.revoked}, ${i.uses},
        ${i.max_uses})`;
  }

  async getInvite(code: string) {
    const rows = await this.q`SELECT * FROM invites WHERE code = ${code}`;
    const r = rows[0];
    if (!r) return null;
    return {
      code: String(r.code),
      agent: String(r.agent),
      client_id: String(r.client_id),
      created_at: Number(r.created_at),
      expires_at: Number(r.expires_at),
      revoked: Boolean(r.revoked),
      uses: Number(r.uses),
      max_uses: r.max_uses === null ? null : Number(r.max_uses),
    };
  }

  async revokeInvite(code: string) {
    return (await this.q`UPDATE invites SET revoked = true WHERE code = ${code} AND NOT revoked`)
      .count > 0;
  }

  async useInvite(code: string, clientId: string, now: number) {
    const run = async (t: Sql) => {
      const rows = await t`SELECT * FROM invites WHERE code = ${code} FOR UPDATE`;
      const inv = rows[0];
      if (!inv) throw fail("invite_not_found");
      const granted =
        await t`SELECT 1 FROM invite_grants WHERE client_id = ${clientId} AND agent = ${inv.agent}`;
      if (granted.length) return;
      // Re-checked under the row lock: concurrent redemptions on other nodes cannot overshoot.
      const usedUp = inv.max_uses !== null && Number(inv.uses) >= Number(inv.max_uses);
      if (inv.revoked || Number(inv.expires_at) < now || usedUp) throw fail("invite_expired");
      await t`UPDATE invites SET uses = uses + 1 WHERE code = ${code}`;
      await t`INSERT INTO invite_grants (client_id, agent, created_at) VALUES (${clientId}, ${inv.agent}, ${now})`;
    };
    await this.tx(run);
  }

  async hasGrant(clientId: string, agent: string) {
    return (await this
      .q`SELECT 1 FROM invite_grants WHERE client_id = ${clientId} AND agent = ${agent}`).length >
      0;
  }

  async getLink(sender: string, recipient: string) {
    const rows = await this
      .q`SELECT permissions FROM links WHERE sender = ${sender} AND recipient = ${recipient}`;
    return rows[0] ? PermissionsSchema.parse(JSON.parse(String(rows[0].permissions))) : null;
  }

  async setLinkPermissions(
    sender: string,
    recipient: string,
    permissions: import("../protocol/mod.ts").Permissions,
  ) {
    return (await this.q`UPDATE links SET permissions = ${JSON.stringify(permissions)}
      WHERE sender = ${sender} AND recipient = ${recipient}`).count > 0;
  }

  async clientLinkedTo(clientId: string, agent: string) {
    return (await this.q`SELECT 1 FROM links l JOIN agents a ON a.handle = l.sender
      WHERE l.recipient = ${agent} AND a.client_id = ${clientId} LIMIT 1`).length > 0;
  }

  async getPending(from: string, to: string) {
    const rows = await this
      .q`SELECT request_id FROM pending_requests WHERE from_handle = ${from} AND to_handle = ${to}`;
    return rows[0] ? { request_id: String(rows[0].request_id) } : null;
  }

  async hasPendingTo(agent: string, clientId: string) {
    return (await this.q`SELECT 1 FROM pending_requests p JOIN agents a ON a.handle = p.to_handle
      WHERE p.from_handle = ${agent} AND a.client_id = ${clientId} LIMIT 1`).length > 0;
  }

  async getTask(id: string) {
    const rows = await this.q`SELECT id, requester, worker, snapshot FROM tasks WHERE id = ${id}`;
    const r = rows[0];
    return r
      ? {
        id: String(r.id),
        requester: String(r.requester),
        worker: String(r.worker),
        snapshot: JSON.parse(String(r.snapshot)),
      }
      : null;
  }

  async countOpenTasks(requester: string, worker: string) {
    const rows = await this.q.unsafe(
      `SELECT count(*)::int AS n FROM tasks WHERE requester = $1 AND worker = $2 AND state NOT IN (${OPEN_STATES})`,
      [requester, worker],
    );
    return Number(rows[0]!.n);
  }

  async envelopeExists(id: string) {
    return (await this.q`SELECT 1 FROM envelopes WHERE id = ${id}`).length > 0;
  }

  async acceptEnvelope(e: EnvelopeRow, recipientClients: string[], effects: AcceptEffects) {
    const run = async (t: Sql) => {
      const inserted =
        await t`INSERT INTO envelopes (id, sender_client, from_handle, recipients, type, body, accepted_at)
        VALUES (${e.id}, ${e.sender_client}, ${e.from}, ${
          JSON.stringify(e.to)
        }, ${e.type}, ${e.body}, ${e.accepted_at})
        ON CONFLICT (id) DO NOTHING RETURNING id`;
      if (inserted.length === 0) throw fail("duplicate_envelope");
      const queued: { client_id: string; seq: number }[] = [];
      for (const client_id of recipientClients) {
        const rows = await t`INSERT INTO deliveries (client_id, kind, envelope_id, created_at)
          VALUES (${client_id}, 'envelope', ${e.id}, ${e.accepted_at}) RETURNING seq`;
        queued.push({ client_id, seq: Number(rows[0]!.seq) });
      }
      await applyEffects(t, effects, e.accepted_at);
      return queued;
    };
    return await this.tx(run);
  }

  async pendingDeliveries(clientId: string, afterSeq: number, limit: number) {
    const rows = await this.q`SELECT d.seq, d.kind, coalesce(d.body, e.body) AS body, d.envelope_id,
        coalesce(e.accepted_at, d.created_at) AS accepted_at, d.attempts
      FROM deliveries d LEFT JOIN envelopes e ON e.id = d.envelope_id AND d.kind = 'envelope'
      WHERE d.client_id = ${clientId} AND d.state = 'pending' AND d.seq > ${afterSeq}
      ORDER BY d.seq LIMIT ${limit}`;
    return rows.map((r) => ({
      seq: Number(r.seq),
      kind: r.kind as DeliveryRow["kind"],
      body: String(r.body),
      envelope_id: String(r.envelope_id),
      accepted_at: Number(r.accepted_at),
      attempts: Number(r.attempts),
    }));
  }

  async ackDelivery(clientId: string, seq: number, now: number) {
    return await this.tx(async (t) => {
      const rows = await t`UPDATE deliveries SET state = 'delivered', done_at = ${now}
        WHERE seq = ${seq} AND client_id = ${clientId} AND state = 'pending' RETURNING kind, envelope_id`;
      const row = rows[0];
      if (!row) return { acked: false };
      if (row.kind !== "envelope") return { acked: true };
      const envs =
        await t`SELECT sender_client, recipients, accepted_at FROM envelopes WHERE id = ${row.envelope_id}`;
      const env = envs[0];
      if (!env) return { acked: true };
      const receipt = await queueReceipt(
        t,
        env,
        String(row.envelope_id),
        clientId,
        "delivered",
        now,
      );
      return { acked: true, receipt, accepted_at: Number(env.accepted_at) };
    });
  }

  async noteAttempt(clientId: string, seq: number) {
    await this
      .q`UPDATE deliveries SET attempts = attempts + 1 WHERE seq = ${seq} AND client_id = ${clientId}`;
  }

  async failExpired(before: number, now: number) {
    return await this.tx(async (t) => {
      const rows = await t`UPDATE deliveries SET state = 'failed', done_at = ${now}
        WHERE state = 'pending' AND created_at < ${before} RETURNING client_id, envelope_id, kind`;
      const receipts = [];
      for (const row of rows) {
        if (row.kind !== "envelope") continue;
        const envs =
          await t`SELECT sender_client, recipients FROM envelopes WHERE id = ${row.envelope_id}`;
        if (envs[0]) {
          receipts.push(
            await queueReceipt(
              t,
              envs[0],
              String(row.envelope_id),
              String(row.client_id),
              "failed",
              now,
              "retention_expired",
            ),
          );
        }
      }
      return receipts;
    });
  }

  async prune(before: number) {
    return await this.tx(async (t) => {
      const d = await t`DELETE FROM deliveries WHERE state != 'pending' AND done_at < ${before}`;
      const e = await t`DELETE FROM envelopes WHERE accepted_at < ${before} AND NOT EXISTS
        (SELECT 1 FROM deliveries d WHERE d.envelope_id = envelopes.id AND d.state = 'pending' AND d.kind = 'envelope')`;
      await t`DELETE FROM rate_windows WHERE window_start < ${Date.now() - 180_000}`;
      await t`DELETE FROM invite_grants WHERE agent NOT IN (SELECT handle FROM agents)`;
      return d.count + e.count;
    });
  }

  async stats(): Promise<StoreStats> {
    const rows = await this.q`SELECT
      (SELECT count(*) FROM clients WHERE revoked_at IS NULL)::int AS clients,
      (SELECT count(*) FROM agents)::int AS agents,
      (SELECT count(*) FROM deliveries WHERE state = 'pending')::int AS pending_deliveries,
      (SELECT count(*) FROM envelopes)::int AS envelopes`;
    const r = rows[0]!;
    return {
      clients: Number(r.clients),
      agents: Number(r.agents),
      pending_deliveries: Number(r.pending_deliveries),
      envelopes: Number(r.envelopes),
    };
  }

  /** Closes both connections; transactions still waiting after 2 s are cut off. */
  async close() {
    await Promise.all([this.pool.end({ timeout: 2 }), this.control.end({ timeout: 2 })]);
  }
}

async function applyEffects(t: Sql, effects: AcceptEffects, now: number) {
  if (effects.pending) {
    const p = effects.pending;
    await t`INSERT INTO pending_requests (from_handle, to_handle, request_id, created_at)
      VALUES (${p.from}, ${p.to}, ${p.request_id}, ${now})
      ON CONFLICT (from_handle, to_handle) DO UPDATE SET request_id = excluded.request_id, created_at = excluded.created_at`;
  }
  if (effects.answered) {
    await t`DELETE FROM pending_requests WHERE from_handle = ${effects.answered.from} AND to_handle = ${effects.answered.to}`;
  }
  if (effects.connect) {
    const { a, b, permissions } = effects.connect;
    for (const [s, r] of [[a, b], [b, a]] as const) {
      await t`INSERT INTO links (sender, recipient, permissions, created_at)
        VALUES (${s}, ${r}, ${
        JSON.stringify(permissions)
      }, ${now}) ON CONFLICT (sender, recipient) DO NOTHING`;
    }
  }
  if (effects.task) {
    const task: RelayTask = effects.task;
    await t`INSERT INTO tasks (id, requester, worker, state, snapshot, updated_at)
      VALUES (${task.id}, ${task.requester}, ${task.worker}, ${task.snapshot.state},
        ${JSON.stringify({ ...task.snapshot, event_ids: [] })}, ${now})
      ON CONFLICT (id) DO UPDATE SET state = excluded.state, snapshot = excluded.snapshot,
        updated_at = excluded.updated_at`;
  }
}

async function queueReceipt(
  t: Sql,
  env: Record<string, unknown>,
  envelopeId: string,
  recipientClient: string,
  state: ReceiptBody["state"],
  now: number,
  reason?: string,
) {
  const recipients = (JSON.parse(String(env.recipients)) as string[]).filter((h) =>
    h.startsWith(`@${recipientClient}/`)
  );
  const body: ReceiptBody = { id: envelopeId, state, recipients, at: new Date(now).toISOString() };
  if (reason) body.reason = reason;
  const rows = await t`INSERT INTO deliveries (client_id, kind, envelope_id, body, created_at)
    VALUES (${String(env.sender_client)}, 'receipt', ${envelopeId}, ${
    JSON.stringify(body)
  }, ${now}) RETURNING seq`;
  return { client_id: String(env.sender_client), seq: Number(rows[0]!.seq) };
}
