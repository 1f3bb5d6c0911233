/**
 * The relay: accepts sealed envelopes from authenticated daemons, stores them durably with one
 * delivery per recipient client, pushes them to connected recipients and reports receipts.
 */
import { type ClientFrame, CLOSE_CODES, fail, type TaskferryError } from "../protocol/mod.ts";
import { logger } from "../log.ts";
import type { RateCheck } from "./accept.ts";
import { Accepts } from "./accepts.ts";
import { admits, checkCredentials, endIfStale } from "./credentials.ts";
import { attachSocket } from "./intake.ts";
import { RelayMetrics } from "./metrics.ts";
import type { RelayOptions } from "./options.ts";
import { RateLimiter } from "./ratelimit.ts";
import { Presence } from "./presence.ts";
import { Session } from "./session.ts";
import type { ClientRecord, DeliveryRow, RelayStore } from "./store.ts";
import { authenticateToken } from "./tokens.ts";
import { SignatureVerifier } from "./verify_pool.ts";
import type { BlobService } from "./blobs/service.ts";

export { DEFAULT_RELAY_OPTIONS, type RelayOptions } from "./options.ts";

const log = logger("relay");

type HelloFrame = Extract<ClientFrame, { type: "hello" }>;

/** The routing core, independent of HTTP. */
export class Relay {
  readonly metrics = new RelayMetrics();
  readonly rates = new RateLimiter();
  readonly signupRates = new RateLimiter(3_600_000);
  private readonly sessions = new Map<string, Session>();
  /** Set by `stop`: frames still queued are left to the daemon's next session. */
  stopped = false;
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly companions: { start(): void; stop(): Promise<void> }[] = [];
  private unlisten: (() => Promise<void>) | null = null;
  /** Who is online, told to connected peers only (presence.ts). */
  readonly presence: Presence;
  /** This process among the relay nodes sharing a store. */
  readonly nodeId = `node_${crypto.randomUUID()}`;
  /** The accept pipeline (accepts.ts). */
  private readonly accepts: Accepts;
  /** Files (design §12): set by startRelay; null = this relay stores no files. */
  blobs: BlobService | null = null;
  /** Envelope signatures are checked in a Worker (verify_pool.ts), off this thread. */
  readonly signatures = new SignatureVerifier();

  constructor(readonly store: RelayStore, readonly options: RelayOptions) {
    this.presence = new Presence(store, this.nodeId);
    // Presence reports of the other nodes sharing the store (none for SQLite).
    let unfollow: Promise<(() => Promise<void>) | null> = Promise.resolve(null);
    this.attachCompanion({
      start: () => void (unfollow = this.presence.follow(store.cluster).catch(() => null)),
      stop: async () => void await (await unfollow)?.(),
    });
    const cluster = store.cluster;
    // Where rate limits are counted: shared by all nodes when the store is.
    const rateCheck: RateCheck = cluster
      ? { takeAll: (keys, now) => cluster.takeRates(keys, now) }
      : this.rates;
    this.accepts = new Accepts(this, rateCheck);
  }

  /** Runs `companion` alongside the relay: started after it, stopped before it. */
  attachCompanion(companion: { start(): void; stop(): Promise<void> }) {
    this.companions.push(companion);
  }

  /** Starts the background timers (retries, retention sweep) and cluster wake-ups. */
  async start() {
    const cluster = this.store.cluster;
    if (cluster) {
      this.unlisten = await cluster.listen(
        (clientId) => this.sessions.get(clientId)?.pumpSoon(),
        (clientId, nodeId) => {
          // The client connected to another node: this node's socket for it is stale.
          if (nodeId !== this.nodeId) {
            this.sessions.get(clientId)?.close(
              CLOSE_CODES.replaced,
              "session moved to another relay node",
            );
          }
        },
      );
    }
    this.timers.push(setInterval(() => {
      const now = Date.now();
      for (const s of this.sessions.values()) {
        s.retryOverdue(now).catch((err) => log.warn("retry failed", { err }));
        if (cluster) s.catchUpGaps().catch((err) => log.warn("gap check failed", { err }));
      }
    }, Math.min(1000, this.options.retryBaseMs)));
    this.timers.push(setInterval(() => {
      this.sweep().catch((err) => log.error("sweep failed", { err }));
    }, this.options.sweepIntervalMs));
    // An idle session sends no frame that could notice a rotated or revoked token: look.
    let checking = false;
    this.timers.push(setInterval(() => {
      if (checking) return;
      checking = true;
      checkCredentials(this.store, [...this.sessions.values()])
        .catch((err) => log.warn("credential check failed", { err }))
        .finally(() => checking = false);
    }, this.options.credentialCheckMs));
    for (const c of this.companions) c.start();
  }

  /** Fails expired deliveries, prunes old ones and evicts idle rate-limit entries. */
  async sweep(now = Date.now()) {
    const receipts = await this.store.failExpired(now - this.options.retentionMs, now);
    for (const r of receipts) this.wake(r.client_id);
    // Keep ids at least twice the skew window so a replay is refused as duplicate, not missed.
    const keep = Math.max(this.options.deliveredRetentionMs, 2 * this.options.clockSkewMs);
    await this.store.prune(now - keep);
    this.rates.sweep(now);
    this.signupRates.sweep(now);
  }

  /** Stops timers and closes every session. */
  async stop() {
    for (const c of this.companions) await c.stop();
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sessions.values()) s.close(CLOSE_CODES.shutdown, "relay shutting down");
    const held = [...this.sessions.keys()];
    this.sessions.clear();
    await this.accepts.idle();
    this.signatures.close();
    if (this.store.cluster) {
      await this.unlisten?.().catch(() => {});
      for (const clientId of held) {
        await this.store.cluster.releaseSession(clientId, this.nodeId).catch(() => {});
      }
    }
  }

  /** Number of connected daemons. */
  get connectedClients(): number {
    return this.sessions.size;
  }

  /** True when `clientId` has a live session on this node. */
  isConnected(clientId: string): boolean {
    return this.sessions.has(clientId);
  }

  /** Authenticates a bearer token; throws `unauthorized` / `client_revoked`. */
  authenticate(token: string | undefined): Promise<ClientRecord> {
    return authenticateToken(this.store, token);
  }

  /**
   * Hands a row just committed for `clientId` to its session (if connected): pushed as it is
   * when the session is caught up and the store has no other writer, else read by a pump.
   */
  offer(clientId: string, row: DeliveryRow) {
    const s = this.sessions.get(clientId);
    if (s && this.store.singleWriter) s.offer([row]);
    else this.wake(clientId);
  }

  /**
   * Wakes the session of `clientId` to push queued deliveries: here when this node holds it,
   * else (several nodes on one store) the node that does.
   */
  wake(clientId: string) {
    const s = this.sessions.get(clientId);
    if (s) s.pumpSoon();
    else {
      this.store.cluster?.notifyWake(clientId).catch((err) =>
        log.warn("wake-up not sent", { err, client_id: clientId })
      );
    }
  }

  /** Attaches a freshly upgraded WebSocket (intake.ts): hello first, then frames in order. */
  attach(ws: WebSocket) {
    attachSocket(this, ws);
  }

  /** Opens the session a valid `hello` asks for; replaces the client's previous session. */
  async openSession(ws: WebSocket, frame: HelloFrame): Promise<Session> {
    const client = await this.authenticate(frame.token);
    if (client.id !== frame.client_id) {
      throw fail("unauthorized", "client_id does not match the token");
    }
    const previous = this.sessions.get(client.id);
    if (previous) previous.close(CLOSE_CODES.replaced, "replaced by a newer session");
    const session = new Session(client.id, frame.device_id, client.token_hash, ws, {
      pending: (c, after, limit) => this.store.pendingDeliveries(c, after, limit),
      noteAttempt: (c, seq) => this.store.noteAttempt(c, seq),
      retryBaseMs: this.options.retryBaseMs,
      maxUnackedBytes: this.options.maxUnackedBytes,
      maxEnvelopeBytes: this.options.maxEnvelopeBytes,
    });
    // Ack what the daemon already stored before the session can push anything, so none of it
    // is sent again.
    if (frame.resume) await this.ackUpTo(session, frame.resume);
    this.sessions.set(client.id, session);
    // Other nodes drop a stale session of this client; deliveries for it now wake this node.
    await this.store.cluster?.claimSession(client.id, this.nodeId, Date.now());
    session.send({
      type: "welcome",
      client_id: client.id,
      device_id: frame.device_id,
      server_time: new Date().toISOString(),
      max_envelope_bytes: this.options.maxEnvelopeBytes,
    });
    log.info("session opened", { client_id: client.id, device_id: frame.device_id });
    this.wake(client.id);
    return session;
  }

  /** Forgets a session whose socket closed. */
  closeSession(session: Session) {
    session.closed = true;
    this.presence.left(session).catch(() => {});
    if (this.sessions.get(session.clientId) === session) {
      this.sessions.delete(session.clientId);
      this.store.cluster?.releaseSession(session.clientId, this.nodeId).catch(() => {});
    }
    log.info("session closed", { client_id: session.clientId });
  }

  /**
   * Re-reads the session's client (credentials.ts) as this process keeps it (a PostgreSQL node
   * hears changes by notification; the accept checks the sender again); false when the
   * session was ended.
   */
  async stillAuthorized(session: Session): Promise<boolean> {
    if (session.closed) return false;
    const id = session.clientId;
    const kept = this.store.keptClient && await this.store.keptClient(id);
    // A kept row that no longer admits the session may be the stale one: ended on a read.
    if (kept && admits(session, kept)) return true;
    return endIfStale(session, await this.store.getClient(id));
  }

  /** The daemon says it stored everything up to `seq`: ack what is still pending there. */
  private async ackUpTo(session: Session, seq: number) {
    for (;;) {
      const rows = await this.store.pendingDeliveries(session.clientId, 0, 256);
      const due = rows.filter((r) => r.seq <= seq);
      if (due.length === 0) return;
      for (const r of due) await this.ack(session, r.seq, false);
      if (due.length < rows.length) return;
    }
  }

  /** Checks and accepts one envelope from `session` (accepts.ts); resolves once answered. */
  send(session: Session, raw: unknown, frameBytes: number): Promise<void> {
    return this.accepts.send(session, raw, frameBytes);
  }

  /** Answers a frame refused before its envelope could be read, in the session's order. */
  refuseInOrder(session: Session, err: TaskferryError, id?: string): Promise<void> {
    return this.accepts.refuseInOrder(session, err, id);
  }

  /** Runs `answer` (e.g. sends `pong`) after the session's earlier answers. */
  answerInOrder(session: Session, answer: () => void): Promise<void> {
    return this.accepts.answerInOrder(session, answer);
  }

  /** Marks `seq` delivered; `push` = false leaves pushing more to the caller. */
  async ack(session: Session, seq: number, push = true) {
    // Rows queued while the window had room were pushed when they were queued (wake); only an
    // ack that opens a full window can leave rows waiting.
    push &&= session.acked(seq);
    const result = await this.store.ackDelivery(session.clientId, seq, Date.now());
    if (!result.acked) return;
    if (result.accepted_at !== undefined) {
      this.metrics.delivered++;
      this.metrics.observeLatency(Date.now() - result.accepted_at);
    }
    if (result.receipt?.body === undefined) {
      if (result.receipt) this.wake(result.receipt.client_id);
    } else {
      const r = result.receipt as { client_id: string; seq: number; body: string };
      this.offer(r.client_id, {
        seq: r.seq,
        kind: "receipt",
        body: r.body,
        envelope_id: "",
        accepted_at: Date.now(),
        attempts: 0,
      });
    }
    if (push) session.pump().catch((err) => log.warn("pump failed", { err }));
  }
}
