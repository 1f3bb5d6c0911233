/** The relay store on SQLite (default). */
import { setImmediate } from "node:timers";
import {
  all,
  type DatabaseSync,
  get,
  type Migration,
  openDatabase,
  run,
  transaction,
} from "../store/mod.ts";
import { fail, type Permissions, PermissionsSchema, TERMINAL_STATES } from "../protocol/mod.ts";
import type {
  AcceptEffects,
  AgentRecord,
  ClientRecord,
  DeliveryRow,
  EnvelopeRow,
  InviteRecord,
  ReceiptBody,
  RelayStore,
  RelayTask,
  StoreStats,
} from "./store.ts";

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
}];

interface AgentRow {
  handle: string;
  client_id: string;
  signing_public_key: string;
  encryption_public_key: string;
  profile: string;
  public: number;
  created_at: number;
  updated_at: number;
}

function toAgent(row: AgentRow): AgentRecord {
  return { ...row, profile: JSON.parse(row.profile), public: row.public === 1 };
}

interface InviteRow extends Omit<InviteRecord, "revoked"> {
  revoked: number;
}

const OPEN_STATES_SQL = `state NOT IN (${TERMINAL_STATES.map((s) => `'${s}'`).join(", ")})`;

/** Opens (creating and migrating) a SQLite relay store at `path`. */
export function openSqliteRelayStore(path: string): RelayStore {
  return new SqliteRelayStore(openDatabase(path, RELAY_MIGRATIONS));
}

class SqliteRelayStore implements RelayStore {
  readonly singleWriter = true;

  constructor(private readonly db: DatabaseSync) {}

  addClient(id: string, tokenHash: string, now: number) {
    return this.sync(() => {
      if (get(this.db, "SELECT 1 FROM clients WHERE id = ?", id)) {
        throw fail("conflict", `client ${id} already exists`);
      }
      run(
        this.db,
        "INSERT INTO clients (id, token_hash, created_at) VALUES (?, ?, ?)",
        id,
        tokenHash,
        now,
      );
    });
  }

  getClient(id: string) {
    return this.sync(() =>
      get<ClientRecord>(this.db, "SELECT * FROM clients WHERE id = ?", id) ?? null
    );
  }

  listClients() {
    return this.sync(() => all<ClientRecord>(this.db, "SELECT * FROM clients ORDER BY id"));
  }

  revokeClient(id: string, now: number) {
    return this.sync(() =>
      run(this.db, "UPDATE clients SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", now, id)
        .changes > 0
    );
  }

  setClientToken(id: string, tokenHash: string) {
    return this.sync(() =>
      run(
        this.db,
        "UPDATE clients SET token_hash = ? WHERE id = ? AND revoked_at IS NULL",
        tokenHash,
        id,
      )
        .changes > 0
    );
  }

  getAgent(handle: string) {
    return this.sync(() => {
      const row = get<AgentRow>(this.db, "SELECT * FROM agents WHERE handle = ?", handle);
      return row ? toAgent(row) : null;
    });
  }

  putAgent(a: AgentRecord) {
    return this.sync(() => {
      run(
        this.db,
        `INSERT INTO agents (handle, client_id, signing_public_key, encryption_public_key, profile,
           public, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (handle) DO UPDATE SET signing_public_key = excluded.signing_public_key,
           encryption_public_key = excluded.encryption_public_key, profile = excluded.profile,
           public = excluded.public, updated_at = excluded.updated_at`,
        a.handle,
        a.client_id,
        a.signing_public_key,
        a.encryption_public_key,
        JSON.stringify(a.profile),
        a.public ? 1 : 0,
        a.created_at,
        a.updated_at,
      );
    });
  }

  listPublicAgents(limit: number) {
    return this.sync(() =>
      all<AgentRow>(
        this.db,
        `SELECT a.* FROM agents a JOIN clients c ON c.id = a.client_id
         WHERE a.public = 1 AND c.revoked_at IS NULL ORDER BY a.handle LIMIT ?`,
        limit,
      ).map(toAgent)
    );
  }

  createInvite(i: InviteRecord) {
    return this.sync(() => {
      run(
        this.db,
        `INSERT INTO invites (code, agent, client_id, created_at, expires_at, revoked, uses, max_uses)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        i.code,
        i.agent,
        i.client_id,
        i.created_at,
        i.expires_at,
        i.revoked ? 1 : 0,
        i.uses,
        i.max_uses,
      );
    });
  }

  getInvite(code: string) {
    return this.sync(() => {
      const row = get<InviteRow>(this.db, "SELECT * FROM invites WHERE code = ?", code);
      return row ? { ...row, revoked: row.revoked === 1 } : null;
    });
  }

  revokeInvite(code: string) {
    return this.sync(() =>
      run(this.db, "UPDATE invites SET revoked = 1 WHERE code = ? AND revoked = 0", code).changes >
        0
    );
  }

  useInvite(code: string, clientId: string, now: number) {
    return this.sync(() =>
      transaction(this.db, () => {
        const invite = get<InviteRow>(this.db, "SELECT * FROM invites WHERE code = ?", code);
        if (!invite) throw fail("invite_not_found");
        const granted = get(
          this.db,
          "SELECT 1 FROM invite_grants WHERE client_id = ? AND agent = ?",
          clientId,
          invite.agent,
        );
        if (granted) return;
        // Re-checked inside the transaction so concurrent redemptions cannot overshoot.
        const usedUp = invite.max_uses !== null && invite.uses >= invite.max_uses;
        if (invite.revoked || invite.expires_at < now || usedUp) throw fail("invite_expired");
        run(this.db, "UPDATE invites SET uses = uses + 1 WHERE code = ?", code);
        run(
          this.db,
          "INSERT INTO invite_grants (client_id, agent, created_at) VALUES (?, ?, ?)",
          clientId,
          invite.agent,
          now,
        );
      })
    );
  }

  hasGrant(clientId: string, agent: string) {
    return this.sync(() =>
      get(
        this.db,
        "SELECT 1 FROM invite_grants WHERE client_id = ? AND agent = ?",
        clientId,
        agent,
      ) !==
        undefined
    );
  }

  getLink(sender: string, recipient: string) {
    return this.sync(() => {
      const row = get<{ permissions: string }>(
        this.db,
        "SELECT permissions FROM links WHERE sender = ? AND recipient = ?",
        sender,
        recipient,
      );
      return row ? PermissionsSchema.parse(JSON.parse(row.permissions)) : null;
    });
  }

  setLinkPermissions(sender: string, recipient: string, permissions: Permissions) {
    return this.sync(() =>
      run(
        this.db,
        "UPDATE links SET permissions = ? WHERE sender = ? AND recipient = ?",
        JSON.stringify(permissions),
        sender,
        recipient,
      ).changes > 0
    );
  }

  clientLinkedTo(clientId: string, agent: string) {
    return this.sync(() =>
      get(
        this.db,
        `SELECT 1 FROM links l JOIN agents a ON a.handle = l.sender
         WHERE l.recipient = ? AND a.client_id = ? LIMIT 1`,
        agent,
        clientId,
      ) !== undefined
    );
  }

  getPending(from: string, to: string) {
    return this.sync(() =>
      get<{ request_id: string }>(
        this.db,
        "SELECT request_id FROM pending_requests WHERE from_handle = ? AND to_handle = ?",
        from,
        to,
      ) ?? null
    );
  }

  hasPendingTo(agent: string, clientId: string) {
    return this.sync(() =>
      get(
        this.db,
        `SELECT 1 FROM pending_requests p JOIN agents a ON a.handle = p.to_handle
         WHERE p.from_handle = ? AND a.client_id = ? LIMIT 1`,
        agent,
        clientId,
      ) !== undefined
    );
  }

  getTask(id: string) {
    return this.sync(() => {
      const row = get<{ id: string; requester: string; worker: string; snapshot: string }>(
        this.db,
        "SELECT id, requester, worker, snapshot FROM tasks WHERE id = ?",
        id,
      );
      return row
        ? {
          id: row.id,
          requester: row.requester,
          worker: row.worker,
          snapshot: JSON.parse(row.snapshot),
        }
        : null;
    });
  }

  countOpenTasks(requester: string, worker: string) {
    return this.sync(() =>
      get<{ n: number }>(
        this.db,
        `SELECT count(*) AS n FROM tasks WHERE requester = ? AND worker = ? AND ${OPEN_STATES_SQL}`,
        requester,
        worker,
      )!.n
    );
  }

  envelopeExists(id: string) {
    return this.sync(() => get(this.db, "SELECT 1 FROM envelopes WHERE id = ?", id) !== undefined);
  }

  acceptEnvelope(e: EnvelopeRow, recipientClients: string[], effects: AcceptEffects) {
    return this.sync(() =>
      transaction(this.db, () => {
        if (get(this.db, "SELECT 1 FROM envelopes WHERE id = ?", e.id)) {
          throw fail("duplicate_envelope");
        }
        run(
          this.db,
          `INSERT INTO envelopes (id, sender_client, from_handle, recipients, type, body, accepted_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
          e.id,
          e.sender_client,
          e.from,
          JSON.stringify(e.to),
          e.type,
          e.body,
          e.accepted_at,
        );
        const queued = recipientClients.map((client_id) => ({
          client_id,
          seq: Number(
            run(
              this.db,
              `INSERT INTO deliveries (client_id, kind, envelope_id, created_at)
               VALUES (?, 'envelope', ?, ?)`,
              client_id,
              e.id,
              e.accepted_at,
            ).lastInsertRowid,
          ),
        }));
        this.applyEffects(effects, e.accepted_at);
        return queued;
      })
    );
  }

  private applyEffects(effects: AcceptEffects, now: number) {
    if (effects.pending) {
      const p = effects.pending;
      run(
        this.db,
        `INSERT INTO pending_requests (from_handle, to_handle, request_id, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (from_handle, to_handle) DO UPDATE SET request_id = excluded.request_id,
           created_at = excluded.created_at`,
        p.from,
        p.to,
        p.request_id,
        now,
      );
    }
    if (effects.answered) {
      run(
        this.db,
        "DELETE FROM pending_requests WHERE from_handle = ? AND to_handle = ?",
        effects.answered.from,
        effects.answered.to,
      );
    }
    if (effects.connect) {
      const { a, b, permissions } = effects.connect;
      for (const [s, r] of [[a, b], [b, a]] as const) {
        run(
          this.db,
          `INSERT INTO links (sender, recipient, permissions, created_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (sender, recipient) DO NOTHING`,
          s,
          r,
          JSON.stringify(permissions),
          now,
        );
      }
    }
    if (effects.task) {
      const t: RelayTask = effects.task;
      run(
        this.db,
        `INSERT INTO tasks (id, requester, worker, state, snapshot, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, snapshot = excluded.snapshot,
           updated_at = excluded.updated_at`,
        t.id,
        t.requester,
        t.worker,
        t.snapshot.state,
        JSON.stringify({ ...t.snapshot, event_ids: [] }),
        now,
      );
    }
  }

  pendingDeliveries(clientId: string, afterSeq: number, limit: number) {
    return this.sync(() =>
      all<DeliveryRow>(
        this.db,
        `SELECT d.seq, d.kind, coalesce(d.body, e.body) AS body, d.envelope_id,
           coalesce(e.accepted_at, d.created_at) AS accepted_at, d.attempts
         FROM deliveries d LEFT JOIN envelopes e ON e.id = d.envelope_id AND d.kind = 'envelope'
         WHERE d.client_id = ? AND d.state = 'pending' AND d.seq > ?
         ORDER BY d.seq LIMIT ?`,
        clientId,
        afterSeq,
        limit,
      )
    );
  }

  ackDelivery(clientId: string, seq: number, now: number) {
    // grouped() runs this in its own savepoint: all of it or none of it is written.
    return this.grouped(() => {
      const row = get<{ kind: string; envelope_id: string; state: string }>(
        this.db,
        "SELECT kind, envelope_id, state FROM deliveries WHERE seq = ? AND client_id = ?",
        seq,
        clientId,
      );
      if (!row || row.state !== "pending") return { acked: false };
      run(
        this.db,
        "UPDATE deliveries SET state = 'delivered', done_at = ? WHERE seq = ?",
        now,
        seq,
      );
      if (row.kind !== "envelope") return { acked: true };
      const env = get<{ sender_client: string; recipients: string; accepted_at: number }>(
        this.db,
        "SELECT sender_client, recipients, accepted_at FROM envelopes WHERE id = ?",
        row.envelope_id,
      );
      if (!env) return { acked: true };
      const receipt = this.queueReceipt(env, row.envelope_id, clientId, "delivered", now);
      return { acked: true, receipt, accepted_at: env.accepted_at };
    });
  }

  private queueReceipt(
    env: { sender_client: string; recipients: string },
    envelopeId: string,
    recipientClient: string,
    state: ReceiptBody["state"],
    now: number,
    reason?: string,
  ) {
    const recipients = (JSON.parse(env.recipients) as string[]).filter((h) =>
      h.startsWith(`@${recipientClient}/`)
    );
    const body: ReceiptBody = {
      id: envelopeId,
      state,
      recipients,
      at: new Date(now).toISOString(),
    };
    if (reason) body.reason = reason;
    const text = JSON.stringify(body);
    const seq = Number(
      run(
        this.db,
        `INSERT INTO deliveries (client_id, kind, envelope_id, body, created_at)
         VALUES (?, 'receipt', ?, ?, ?)`,
        env.sender_client,
        envelopeId,
        text,
        now,
      ).lastInsertRowid,
    );
    return { client_id: env.sender_client, seq, body: text };
  }

  noteAttempt(clientId: string, seq: number) {
    return this.sync(() => {
      run(
        this.db,
        "UPDATE deliveries SET attempts = attempts + 1 WHERE seq = ? AND client_id = ?",
        seq,
        clientId,
      );
    });
  }

  failExpired(before: number, now: number) {
    return this.sync(() =>
      transaction(this.db, () => {
        const rows = all<{ seq: number; client_id: string; envelope_id: string; kind: string }>(
          this.db,
          "SELECT seq, client_id, envelope_id, kind FROM deliveries WHERE state = 'pending' AND created_at < ?",
          before,
        );
        const receipts = [];
        for (const row of rows) {
          run(
            this.db,
            "UPDATE deliveries SET state = 'failed', done_at = ? WHERE seq = ?",
            now,
            row.seq,
          );
          if (row.kind !== "envelope") continue;
          const env = get<{ sender_client: string; recipients: string }>(
            this.db,
            "SELECT sender_client, recipients FROM envelopes WHERE id = ?",
            row.envelope_id,
          );
          if (env) {
            receipts.push(
              this.queueReceipt(
                env,
                row.envelope_id,
                row.client_id,
                "failed",
                now,
                "retention_expired",
              ),
            );
          }
        }
        return receipts;
      })
    );
  }

  prune(before: number) {
    return this.sync(() =>
      transaction(this.db, () => {
        const deliveries = run(
          this.db,
          "DELETE FROM deliveries WHERE state != 'pending' AND done_at < ?",
          before,
        ).changes;
        const envelopes = run(
          this.db,
          `DELETE FROM envelopes WHERE accepted_at < ? AND NOT EXISTS
             (SELECT 1 FROM deliveries d WHERE d.envelope_id = envelopes.id AND d.state = 'pending'
                AND d.kind = 'envelope')`,
          before,
        ).changes;
        run(this.db, "DELETE FROM invite_grants WHERE agent NOT IN (SELECT handle FROM agents)");
        return Number(deliveries) + Number(envelopes);
      })
    );
  }

  stats() {
    return this.sync((): StoreStats => ({
      clients:
        get<{ n: number }>(this.db, "SELECT count(*) AS n FROM clients WHERE revoked_at IS NULL")!
          .n,
      agents: get<{ n: number }>(this.db, "SELECT count(*) AS n FROM agents")!.n,
      pending_deliveries: get<{ n: number }>(
        this.db,
        "SELECT count(*) AS n FROM deliveries WHERE state = 'pending'",
      )!.n,
      envelopes: get<{ n: number }>(this.db, "SELECT count(*) AS n FROM envelopes")!.n,
    }));
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

  countClientAgents(clientId: string) {
    // Handles of a client all start with "@<id>/" ("/" + 1 = "0"): a range on the key.
    return this.sync(() =>
      get<{ n: number }>(
        this.db,
        "SELECT count(*) AS n FROM agents WHERE handle >= ? AND handle < ? AND client_id = ?",
        `@${clientId}/`,
        `@${clientId}0`,
        clientId,
      )?.n ?? 0
    );
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
