/**
 * The daemon's WebSocket link to the relay: `hello` first, reconnect with backoff and jitter,
 * outbox flushed in order with a bounded window, inbound deliveries handled in order, in batches
 * (those that arrived while the previous batch was stored), acked only after their commit (the
 * relay's receipts of one read: stored together, then acked), keepalive pings. Every frame from the relay is parsed with
 * bounds (`parseJsonBounded`) and receipts are schema-checked before they touch a state.
 */
import {
  type ErrorCode,
  parseJsonBounded,
  type RelayFrame,
  type RelayReceipt,
  RelayReceiptSchema,
} from "../protocol/mod.ts";
import type { OutboxItem } from "./store/mod.ts";
import {
  DEAD_MS,
  DEFAULT_MAX_ENVELOPE,
  FATAL,
  FRAME_OVERHEAD,
  isSeq,
  type LinkHost,
  type LinkOptions,
  PING_MS,
  tokenRefusedMessage,
  TRANSIENT,
  WINDOW,
} from "./relay_link_rules.ts";
import { DEFAULT_DAEMON_OPTIONS } from "./options.ts";
import { LinkDeliveries } from "./link_deliveries.ts";
import { TurnBatch } from "./turn_batch.ts";
import { NoDelayWebSocket } from "./ws.ts";
import { logger } from "../log.ts";

const log = logger("relay-link");

export type { OutboxItem };
export { type LinkHost, type LinkOptions, tokenRefusedMessage } from "./relay_link_rules.ts";

/** A self-healing link. */
export class RelayLink {
  private ws: WebSocket | null = null;
  private stopped = true;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private lastFrameAt = 0;
  private ready = false;
  private lastSent = 0;
  /** The last read found nothing after `lastSent`: each `accepted` batch re-read it for nothing. */
  private drained = false;
  private readonly inflight = new Map<string, number>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The envelope refused transiently: nothing after it is sent until it is accepted (gap 5). */
  private held: { id: string; seq: number } | null = null;
  private maxFrameBytes = DEFAULT_MAX_ENVELOPE + FRAME_OVERHEAD;
  private downSince: number | null = null;
  private everConnected = false;
  /** Deliveries, in order, in batches: acked after their commit. */
  private readonly deliveries: LinkDeliveries;
  /** The `accepted` answers of one socket read, applied together. */
  private readonly accepted = new TurnBatch<[string, string]>((a) => this.applyAccepted(a));
  /** The relay's receipts of one socket read: stored together, then acked (one commit). */
  private readonly receipts = new TurnBatch<[WebSocket, number, RelayReceipt]>((r) =>
    this.applyReceipts(r)
  );
  connected = false;
  lastError: string | undefined;
  /** Set when the relay refused the token: the link stopped retrying and says what to do. */
  fatal: string | undefined;

  constructor(private readonly options: LinkOptions, private readonly host: LinkHost) {
    this.deliveries = new LinkDeliveries(host);
  }

  /** Starts connecting (and keeps reconnecting until stopped). */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Closes the link and stops reconnecting; waits for in-progress deliveries. */
  async stop() {
    const wasRunning = !this.stopped;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      const closed = new Promise((r) => ws.addEventListener("close", r, { once: true }));
      ws.close(1000, "daemon stopping");
      await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
    }
    await this.deliveries.idle();
    // After the last delivery: what it left to send goes to the outbox for the next start.
    if (wasRunning) await this.host.stopping?.().catch(() => {});
    this.setConnected(false);
  }

  /** Sends pending rows in order (call after adding to the outbox; `written`: those rows). */
  flush(written?: readonly OutboxItem[]) {
    if (written?.length && this.sendWritten(written)) return;
    this.drained = false;
    this.pump();
  }

  /**
   * Sends just-committed `rows` as given, not read back, if they are next in line: `drained`
   * (the last read found nothing after `lastSent`, and each insert since called flush) says
   * they are all that is pending.
   */
  private sendWritten(rows: readonly OutboxItem[]): boolean {
    if (!this.drained || !this.ready || !this.ws || this.held) return false;
    if (rows[0]!.seq <= this.lastSent) return false;
    for (const row of rows) {
      if (this.inflight.size >= WINDOW) break;
      this.lastSent = row.seq;
      this.sendRow(this.ws, row);
    }
    this.drained = this.lastSent === rows.at(-1)!.seq; // else the rest is read when a slot frees
    return true;
  }

  private sendRow(ws: WebSocket, row: OutboxItem) {
    this.inflight.set(row.id, row.seq);
    ws.send(`{"type":"send","envelope":${row.envelope}}`);
  }

  /** A slot came free: read the outbox only if rows may be left (inserts call {@link flush}). */
  private slotFreed() {
    if (!this.drained) this.pump();
  }

  private pump() {
    if (!this.ready || !this.ws) return;
    this.drained = false;
    while (this.inflight.size < WINDOW) {
      const limit = WINDOW - this.inflight.size;
      const rows = this.host.pendingOutbox(this.lastSent, limit);
      for (const row of rows) {
        // Head-of-line: nothing overtakes an envelope the relay asked to retry later.
        if (this.held && row.seq > this.held.seq) return;
        this.lastSent = row.seq;
        if (this.inflight.has(row.id)) continue;
        this.sendRow(this.ws, row);
      }
      // A short page is the whole outbox (pendingOutbox is synchronous): nothing more to read.
      if (rows.length < limit) return void (this.drained = true);
    }
  }

  private connect() {
    if (this.stopped) return;
    const url = this.options.relayUrl.replace(/^http/, "ws").replace(/\/+$/, "") + "/v1/ws";
    let ws: WebSocket;
    try {
      ws = new NoDelayWebSocket(
        url,
        this.options.caCerts ? { caCerts: this.options.caCerts } : {},
      ) as unknown as WebSocket;
    } catch (err) {
      this.lastError = (err as Error).message;
      log.warn("relay connect failed", { url, cause: this.lastError });
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastFrameAt = Date.now();
      const hello: Record<string, unknown> = {
        type: "hello",
        client_id: this.options.clientId,
        token: this.options.token,
        device_id: this.options.deviceId,
      };
      // No `resume`: every unacked delivery comes again and is deduplicated by envelope id,
      // which stays correct even if the relay's database was replaced.
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (event) => {
      this.lastFrameAt = Date.now();
      let frame: RelayFrame;
      try {
        frame = parseJsonBounded(String(event.data), {
          maxBytes: this.maxFrameBytes,
        }) as RelayFrame;
        if (typeof frame !== "object" || frame === null) throw new Error("not an object");
      } catch (err) {
        log.warn("relay frame ignored", { cause: (err as Error).message });
        return;
      }
      this.onFrame(ws, frame);
    };
    ws.onclose = (event) => {
      if (this.ws === ws) this.ws = null;
      this.ready = false;
      this.inflight.clear();
      clearInterval(this.pingTimer);
      if (event.code === 4001 && !this.fatal) {
        this.lastError = `relay refused hello: ${event.reason}`;
      }
      if (!this.stopped) {
        this.downSince ??= Date.now();
        log.warn("relay disconnected", {
          code: event.code,
          reason: event.reason || undefined,
          cause: this.lastError,
        });
      }
      this.setConnected(false, this.fatal ?? this.lastError);
      if (this.fatal) {
        log.error(this.fatal);
        return;
      }
      this.scheduleReconnect();
    };
    ws.onerror = (event) => {
      this.lastError = (event as ErrorEvent).message ?? "websocket error";
    };
  }

  private onFrame(ws: WebSocket, frame: RelayFrame) {
    switch (frame.type) {
      case "welcome":
        this.welcome(ws, frame.max_envelope_bytes);
        return;
      case "accepted":
        this.settled(frame.id);
        this.accepted.add([frame.id, frame.at]);
        return;
      case "error":
        this.error(ws, frame);
        return;
      case "deliver":
        if (!isSeq(frame.seq)) return void log.warn("deliver frame without a valid seq");
        this.deliveries.add(ws, frame.seq, frame.envelope);
        return;
      case "receipt": {
        if (!isSeq(frame.seq)) return void log.warn("receipt frame without a valid seq");
        const parsed = RelayReceiptSchema.safeParse(frame.receipt);
        if (!parsed.success) {
          // A malformed receipt changes no state; acked so it does not come back forever.
          log.warn("relay receipt ignored: not a valid receipt", { seq: frame.seq });
          this.deliveries.ackInOrder(ws, frame.seq);
          return;
        }
        this.receipts.add([ws, frame.seq, parsed.data]);
        return;
      }
      case "pong":
        return;
      case "presence":
        this.host.presence?.apply(frame);
        return;
    }
  }

  /** Tells the relay our online agents and the peers we watch (again after a change). */
  announcePresence() {
    const scope = this.host.presence?.scope();
    if (!scope || !this.ready || this.ws?.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify({ type: "presence", ...scope }));
  }

  private welcome(ws: WebSocket, maxEnvelopeBytes: unknown) {
    if (this.everConnected) {
      const after = this.downSince ? Date.now() - this.downSince : 0;
      log.info("relay link recovered", { down_ms: after, attempts: this.attempt });
    } else log.info("relay connected", { url: this.options.relayUrl });
    this.everConnected = true;
    this.downSince = null;
    this.attempt = 0;
    this.ready = true;
    this.lastSent = 0;
    this.held = null;
    this.lastError = undefined;
    if (typeof maxEnvelopeBytes === "number" && maxEnvelopeBytes > 0) {
      this.maxFrameBytes = maxEnvelopeBytes + FRAME_OVERHEAD;
    }
    this.setConnected(true);
    this.announcePresence();
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.keepalive(ws), PING_MS);
    this.flush();
  }

  private error(ws: WebSocket, frame: { id?: string; code: ErrorCode; message: string }) {
    if (!frame.id || !this.inflight.has(frame.id)) {
      if (FATAL.includes(frame.code)) {
        // No retry can fix a refused token: stop, and say what to do.
        this.fatal = tokenRefusedMessage(this.options.clientId, frame.code, frame.message);
        this.lastError = this.fatal;
        ws.close(1000, "token refused");
        return;
      }
      if (!this.ready) this.lastError = `${frame.code}: ${frame.message}`;
      log.warn("relay error", { code: frame.code, message: frame.message });
      return;
    }
    const seq = this.inflight.get(frame.id)!;
    this.inflight.delete(frame.id);
    if (frame.code === "duplicate_envelope") {
      // Accepted earlier; the answer was lost with a connection.
      this.settled(frame.id);
      this.host.accepted(frame.id, new Date().toISOString());
    } else if (TRANSIENT.includes(frame.code)) {
      this.retryLater(frame.id, seq);
      return;
    } else {
      this.settled(frame.id);
      this.host.refused(frame.id, frame.code, frame.message);
    }
    this.slotFreed();
  }

  /** One commit and one outbox read for a batch; deliveries and receipts wait their turn. */
  private applyAccepted(answers: [id: string, at: string][]) {
    const apply = () => answers.forEach(([id, at]) => this.host.accepted(id, at));
    // The slots free once the answers are stored (the host's batch may wait for its commit).
    new Promise<void>((resolve) => resolve(this.host.batch ? this.host.batch(apply) : apply()))
      .then(() => this.slotFreed(), (err) => {
        // Still pending: resent on a new connection, where duplicate_envelope means accepted.
        log.warn("accepted answers not recorded; reconnecting", { count: answers.length, err });
        this.ws?.close(4000, "accepted answer not stored");
      });
  }

  /**
   * Stores a batch of relay receipts, then acks each on the socket it came by. They change
   * only our outbound messages' states, so they need not wait behind deliveries; if they
   * cannot be stored the link reconnects and the relay sends them again.
   */
  private applyReceipts(items: [WebSocket, number, RelayReceipt][]) {
    this.host.receipts(items.map(([, , r]) => r)).then(() => {
      for (const [ws, seq] of items) {
        if (ws.readyState === WebSocket.OPEN) ws.send(`{"type":"ack","seq":${seq}}`);
      }
    }, (err) => {
      log.warn("relay receipts not stored; reconnecting to get them again", { err });
      for (const [ws] of items) ws.close(4000, "receipt not stored");
    });
  }

  /** An envelope has its final answer: release the hold it placed, resend from the start. */
  private settled(id: string) {
    this.inflight.delete(id);
    if (this.held?.id !== id) return;
    this.held = null;
    // Rows behind it that were refused too are pending again; accepted ones are not.
    this.lastSent = 0;
    this.drained = false;
  }

  private retryLater(id: string, seq: number) {
    // Hold the earliest refused envelope: order per sender survives a transient refusal.
    if (!this.held || seq < this.held.seq) this.held = { id, seq };
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      // Resend from the first still-pending row up to the held one (flush stops there).
      this.lastSent = 0;
      this.flush();
    }, 1000 + Math.random() * 1000);
    log.info("relay asked to retry later; holding what follows", { id });
  }

  private keepalive(ws: WebSocket) {
    if (Date.now() - this.lastFrameAt > DEAD_MS) {
      log.warn("relay silent past keepalive; reconnecting");
      ws.close(4000, "keepalive timeout");
      return;
    }
    if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}');
  }

  private scheduleReconnect() {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    const min = this.options.minBackoffMs ?? DEFAULT_DAEMON_OPTIONS.minBackoffMs;
    const max = this.options.maxBackoffMs ?? DEFAULT_DAEMON_OPTIONS.maxBackoffMs;
    // A delivery that keeps failing backs off too: `welcome` resets `attempt`, not this.
    const steps = Math.max(this.attempt++, this.deliveries.failures);
    const base = Math.min(max, min * 2 ** steps);
    const delay = Math.round(base / 2 + Math.random() * base / 2);
    log.info("reconnecting to relay", { in_ms: delay, attempt: this.attempt });
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private setConnected(connected: boolean, detail?: string) {
    if (this.connected === connected && !detail) return;
    this.connected = connected;
    this.host.status(connected, detail);
  }
}
