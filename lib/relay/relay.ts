/**
 * The relay: accepts sealed envelopes from authenticated daemons, stores them durably with one
 * delivery per recipient client, pushes them to connected recipients and reports receipts.
 */
import {
  type ClientFrame,
  ClientFrameSchema,
  CLOSE_CODES,
  describeIssues,
  fail,
  TaskferryError,
  timingSafeEqual,
} from "../protocol/mod.ts";
import { logger } from "../log.ts";
import { type AcceptLimits, checkRouting, checkSignedEnvelope, type RateCheck } from "./accept.ts";
import { RelayMetrics } from "./metrics.ts";
import { RateLimiter } from "./ratelimit.ts";
import { Session } from "./session.ts";
import type { ClientRecord, DeliveryRow, RelayStore } from "./store.ts";
import { hashToken, tokenClient } from "./tokens.ts";

const log = logger("relay");

/** Relay behaviour settings (resolved from flags/env/file by the CLI). */
export interface RelayOptions extends AcceptLimits {
  /** How long undelivered envelopes wait before a `failed` receipt. */
  retentionMs: number;
  /** How long delivered envelopes are kept before pruning. */
  deliveredRetentionMs: number;
  helloTimeoutMs: number;
  retryBaseMs: number;
  sweepIntervalMs: number;
  /** Frames a socket may have waiting before it is closed as overloaded. */
  maxQueuedFrames: number;
  publicUrl: string;
  openSignup: boolean;
}

/** Defaults for {@link RelayOptions}. */
export const DEFAULT_RELAY_OPTIONS: RelayOptions = {
  maxEnvelopeBytes: 2 * 1024 * 1024,
  clockSkewMs: 5 * 60_000,
  clientRatePerMinute: 60_000,
  connectionRequestsPerMinute: 30,
  retentionMs: 7 * 86_400_000,
  deliveredRetentionMs: 86_400_000,
  helloTimeoutMs: 5_000,
  retryBaseMs: 5_000,
  sweepIntervalMs: 60_000,
  maxQueuedFrames: 4096,
  publicUrl: "http://127.0.0.1:8080",
  openSignup: false,
};

/** The routing core, independent of HTTP. */
export class Relay {
  readonly metrics = new RelayMetrics();
  readonly rates = new RateLimiter();
  readonly signupRates = new RateLimiter(3_600_000);
  private readonly sessions = new Map<string, Session>();
  /** The token hash each session authenticated with: a rotation ends the old sessions. */
  private readonly sessionTokens = new WeakMap<Session, string>();
  private acceptLock: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  private retryTimer: ReturnType<typeof setInterval> | undefined;
  private unlisten: (() => Promise<void>) | null = null;
  /** This process among the relay nodes sharing a store. */
  readonly nodeId = `node_${crypto.randomUUID()}`;
  /** Where rate limits are counted: shared by all nodes when the store is. */
  private readonly rateCheck: RateCheck;

  constructor(readonly store: RelayStore, readonly options: RelayOptions) {
    const cluster = store.cluster;
    this.rateCheck = cluster
      ? { takeAll: (keys, now) => cluster.takeRates(keys, now) }
      : this.rates;
  }

  private readonly companions: { start(): void; stop(): Promise<void> }[] = [];

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
    this.retryTimer = setInterval(() => {
      const now = Date.now();
      for (const s of this.sessions.values()) {
        s.retryOverdue(now).catch((err) => log.warn("retry failed", { err }));
        if (cluster) s.catchUpGaps().catch((err) => log.warn("gap check failed", { err }));
      }
    }, Math.min(1000, this.options.retryBaseMs));
    this.sweepTimer = setInterval(() => {
      this.sweep().catch((err) => log.error("sweep failed", { err }));
    }, this.options.sweepIntervalMs);
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
    clearInterval(this.retryTimer);
    clearInterval(this.sweepTimer);
    for (const s of this.sessions.values()) s.close(CLOSE_CODES.shutdown, "relay shutting down");
    const held = [...this.sessions.keys()];
    this.sessions.clear();
    await this.acceptLock.catch(() => {});
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
  async authenticate(token: string | undefined): Promise<ClientRecord> {
    const clientId = token ? tokenClient(token) : null;
    if (!token || !clientId) throw fail("unauthorized", "send Authorization: Bearer <relay token>");
    const client = await this.store.getClient(clientId);
    if (!client || !timingSafeEqual(client.token_hash, await hashToken(token))) {
      throw fail("unauthorized", "unknown client or wrong token");
    }
    if (client.revoked_at !== null) throw fail("client_revoked");
    return client;
  }

  /**
   * Hands a row just committed for `clientId` to its session (if connected): pushed as it is
   * when the session is caught up and the store has no other writer, else read by a pump.
   */
  private offer(clientId: string, row: DeliveryRow) {
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

  /** Attaches a freshly upgraded WebSocket: hello first, then frames in order. */
  attach(ws: WebSocket) {
    let session: Session | null = null;
    const queue: { data: string }[] = [];
    let queuedChars = 0;
    let draining = false;
    const helloTimer = setTimeout(() => {
      if (!session) closeWith("unauthorized", "no hello within the time limit");
    }, this.options.helloTimeoutMs);

    const closeWith = (
      code: "unauthorized" | "bad_request" | "client_revoked",
      message: string,
    ) => {
      try {
        ws.send(JSON.stringify({ type: "error", code, message }));
        ws.close(CLOSE_CODES.unauthorized, message.slice(0, 100));
      } catch {
        // socket already gone
      }
    };

    const drain = async () => {
      if (draining) return;
      draining = true;
      try {
        // Once the relay is stopping, frames still queued are left: their sockets are closing
        // and the store is about to close; the daemon sends them again on its next session.
        while (queue.length > 0 && !this.stopped) {
          const item = queue.shift()!;
          queuedChars -= item.data.length;
          if (!session) {
            session = await this.hello(ws, item.data).catch((err) => {
              const e = err instanceof TaskferryError ? err : fail("bad_request");
              closeWith(
                e.code === "bad_request" || e.code === "client_revoked" ? e.code : "unauthorized",
                e.message,
              );
              return null;
            });
            clearTimeout(helloTimer);
            if (!session) return;
            continue;
          }
          await this.frame(session, item.data);
        }
      } finally {
        draining = false;
      }
    };

    ws.onmessage = (event) => {
      if (typeof event.data !== "string") {
        closeWith("bad_request", "frames are JSON text");
        return;
      }
      // Bounded in frames and in size: a client may not park more than a few envelopes' worth
      // of unprocessed frames here (memory), however it splits them. A lone frame is always
      // taken (it is already in memory), so an oversized envelope gets its own error.
      if (
        queue.length >= this.options.maxQueuedFrames ||
        (queue.length > 0 &&
          queuedChars + event.data.length > 4 * this.options.maxEnvelopeBytes + 65_536)
      ) {
        session?.close(CLOSE_CODES.overloaded, "too many frames in flight; slow down");
        ws.close(CLOSE_CODES.overloaded, "overloaded");
        return;
      }
      queue.push({ data: event.data });
      queuedChars += event.data.length;
      drain().catch((err) => log.error("frame handling failed", { err }));
    };
    ws.onclose = () => {
      clearTimeout(helloTimer);
      if (session) {
        session.closed = true;
        if (this.sessions.get(session.clientId) === session) {
          this.sessions.delete(session.clientId);
          this.store.cluster?.releaseSession(session.clientId, this.nodeId).catch(() => {});
        }
        log.info("session closed", { client_id: session.clientId });
      }
    };
    ws.onerror = () => {};
  }

  private async hello(ws: WebSocket, data: string): Promise<Session> {
    const frame = parseFrame(data);
    if (frame.type !== "hello") throw fail("unauthorized", "the first frame must be hello");
    const client = await this.authenticate(frame.token);
    if (client.id !== frame.client_id) {
      throw fail("unauthorized", "client_id does not match the token");
    }
    const previous = this.sessions.get(client.id);
    if (previous) previous.close(CLOSE_CODES.replaced, "replaced by a newer session");
    const session = new Session(client.id, frame.device_id, ws, {
      pending: (c, after, limit) => this.store.pendingDeliveries(c, after, limit),
      noteAttempt: (c, seq) => this.store.noteAttempt(c, seq),
      retryBaseMs: this.options.retryBaseMs,
    });
    // Ack what the daemon already stored before the session can push anything, so none of it
    // is sent again.
    if (frame.resume) await this.ackUpTo(session, frame.resume);
    this.sessions.set(client.id, session);
    this.sessionTokens.set(session, client.token_hash);
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

  private async frame(session: Session, data: string) {
    // A revocation (often by another process: `taskferry relay revoke-client`) ends live
    // sessions too, not only new ones.
    const client = await this.store.getClient(session.clientId);
    if (!client || client.revoked_at !== null) {
      const e = fail("client_revoked");
      session.send({ type: "error", code: e.code, message: e.message });
      session.close(CLOSE_CODES.unauthorized, "client revoked");
      return;
    }
    // `taskferry relay rotate-token` ends sessions opened with the old token too.
    if (client.token_hash !== this.sessionTokens.get(session)) {
      session.send({ type: "error", code: "unauthorized", message: "the token was rotated" });
      session.close(CLOSE_CODES.unauthorized, "token rotated");
      return;
    }
    let frame: ClientFrame;
    try {
      frame = parseFrame(data);
    } catch (err) {
      const e = err as TaskferryError;
      session.send({ type: "error", code: e.code, message: e.message });
      return;
    }
    switch (frame.type) {
      case "send":
        await this.send(session, frame.envelope, data.length);
        return;
      case "ack":
        await this.ack(session, frame.seq);
        return;
      case "ping":
        session.send({ type: "pong" });
        return;
      case "hello":
        session.send({ type: "error", code: "bad_request", message: "already authenticated" });
        return;
    }
  }

  private async send(session: Session, raw: unknown, frameBytes: number) {
    const id =
      typeof raw === "object" && raw !== null && typeof (raw as { id?: unknown }).id === "string"
        ? (raw as { id: string }).id.slice(0, 64)
        : undefined;
    try {
      // Frame overhead is ~30 bytes; the limit applies to the envelope itself.
      const { envelope } = await checkSignedEnvelope(
        this.store,
        session,
        this.options,
        raw,
        Math.max(0, frameBytes - 30),
      );
      // Stopped while the signature was checked: the store is closing; the daemon resends.
      if (this.stopped) return;
      const at = Date.now();
      const body = JSON.stringify(envelope);
      const queued = await this.exclusive(lockKeys(envelope), async (store) => {
        const checked = await checkRouting(
          store,
          session,
          this.options,
          this.rateCheck,
          envelope,
          at,
        );
        return await store.acceptEnvelope(
          {
            id: envelope.id,
            sender_client: session.clientId,
            from: envelope.from,
            to: envelope.to,
            type: envelope.type,
            body,
            accepted_at: at,
          },
          checked.recipientClients,
          checked.effects,
        );
      });
      this.metrics.accepted++;
      session.send({ type: "accepted", id: envelope.id, at: new Date(at).toISOString() });
      for (const q of queued) {
        this.offer(q.client_id, {
          seq: q.seq,
          kind: "envelope",
          body,
          envelope_id: envelope.id,
          accepted_at: at,
          attempts: 0,
        });
      }
    } catch (err) {
      const e = err instanceof TaskferryError ? err : fail("internal");
      if (!(err instanceof TaskferryError)) log.error("send failed", { err });
      this.metrics.refuse(e.code);
      const frame: { type: "error"; code: typeof e.code; message: string; id?: string } = {
        type: "error",
        code: e.code,
        message: e.message,
      };
      if (id) frame.id = id;
      session.send(frame);
    }
  }

  /** Marks `seq` delivered; `push` = false leaves pushing more to the caller. */
  private async ack(session: Session, seq: number, push = true) {
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

  /**
   * Serializes the stateful part of accepting (read state, check, write): in this process, or
   * across nodes in one store transaction holding locks on `keys`.
   */
  private exclusive<T>(keys: string[], fn: (store: RelayStore) => Promise<T>): Promise<T> {
    const cluster = this.store.cluster;
    if (cluster) return cluster.exclusive(keys, fn);
    const run = this.acceptLock.then(() => fn(this.store), () => fn(this.store));
    this.acceptLock = run.catch(() => {});
    return run;
  }
}

/** What an envelope's checks read and write: its sender/recipient pairs and its task. */
function lockKeys(
  envelope: { from: string; to: string[]; task_id?: string | undefined },
): string[] {
  const keys = envelope.to.map((to) => [envelope.from, to].sort().join("|"));
  if (envelope.task_id) keys.push(envelope.task_id);
  return keys;
}

function parseFrame(data: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw fail("invalid_json", "frames are JSON objects");
  }
  const parsed = ClientFrameSchema.safeParse(value);
  if (!parsed.success) throw fail("bad_request", describeIssues(parsed.error));
  return parsed.data;
}
