/**
 * The daemon's WebSocket link to the relay: `hello` first, reconnect with backoff and jitter,
 * outbox flushed in order with a bounded window, inbound deliveries handled one at a time and
 * acked only after they are stored, keepalive pings.
 */
import type { ErrorCode, RelayFrame, RelayReceipt } from "../protocol/mod.ts";
import type { OutboxItem } from "./store/mod.ts";
import { DEFAULT_DAEMON_OPTIONS } from "./options.ts";
import { Mutex } from "./util.ts";
import { NoDelayWebSocket } from "./ws.ts";
import { logger } from "../log.ts";

const log = logger("relay-link");

export type { OutboxItem };

/** What the link needs from the daemon. */
export interface LinkHost {
  /** Stores and applies one delivered envelope; throw to leave it unacked (and reconnect). */
  deliver(seq: number, envelope: unknown): Promise<void>;
  receipt(receipt: RelayReceipt): Promise<void>;
  accepted(id: string, at: string): void;
  refused(id: string, code: ErrorCode, message: string): void;
  pendingOutbox(afterSeq: number, limit: number): OutboxItem[];
  status(connected: boolean, detail?: string): void;
}

/**
 * Relay error codes worth retrying: the envelope may be accepted later as it is. A full
 * open-task limit is not among them: the requester is told (the task request fails and the
 * task is rolled back) rather than left waiting without a word.
 */
const TRANSIENT: readonly string[] = ["rate_limited", "unavailable", "internal"];
const WINDOW = 256;
const PING_MS = 20_000;
const DEAD_MS = 50_000;

/** Connection settings. */
export interface LinkOptions {
  relayUrl: string;
  clientId: string;
  token: string;
  deviceId: string;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Extra trusted CA certificates (PEM) for a `wss://` relay with a private CA. */
  caCerts?: string[];
}

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
  private readonly inflight = new Map<string, number>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Deliveries and receipts, one at a time in arrival order. */
  private readonly serialized = new Mutex();
  connected = false;
  lastError: string | undefined;

  constructor(private readonly options: LinkOptions, private readonly host: LinkHost) {}

  /** Starts connecting (and keeps reconnecting until stopped). */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Closes the link and stops reconnecting; waits for in-progress deliveries. */
  async stop() {
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
    await this.serialized.run(() => Promise.resolve());
    this.setConnected(false);
  }

  /** Sends pending outbox rows (call after adding to the outbox). */
  flush() {
    if (!this.ready || !this.ws) return;
    while (this.inflight.size < WINDOW) {
      const limit = WINDOW - this.inflight.size;
      const rows = this.host.pendingOutbox(this.lastSent, limit);
      for (const row of rows) {
        this.lastSent = row.seq;
        if (this.inflight.has(row.id)) continue;
        this.inflight.set(row.id, row.seq);
        this.ws.send(`{"type":"send","envelope":${row.envelope}}`);
      }
      // A short page is the whole outbox (pendingOutbox is synchronous): nothing more to read.
      if (rows.length < limit) return;
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
        frame = JSON.parse(String(event.data));
      } catch {
        return;
      }
      this.onFrame(ws, frame);
    };
    ws.onclose = (event) => {
      if (this.ws === ws) this.ws = null;
      this.ready = false;
      this.inflight.clear();
      clearInterval(this.pingTimer);
      if (event.code === 4001) this.lastError = `relay refused hello: ${event.reason}`;
      this.setConnected(false, this.lastError);
      this.scheduleReconnect();
    };
    ws.onerror = (event) => {
      this.lastError = (event as ErrorEvent).message ?? "websocket error";
    };
  }

  private onFrame(ws: WebSocket, frame: RelayFrame) {
    switch (frame.type) {
      case "welcome":
        this.attempt = 0;
        this.ready = true;
        this.lastSent = 0;
        this.lastError = undefined;
        this.setConnected(true);
        clearInterval(this.pingTimer);
        this.pingTimer = setInterval(() => this.keepalive(ws), PING_MS);
        this.flush();
        return;
      case "accepted":
        this.inflight.delete(frame.id);
        this.host.accepted(frame.id, frame.at);
        this.flush();
        return;
      case "error":
        if (!frame.id || !this.inflight.has(frame.id)) {
          if (!this.ready) this.lastError = `${frame.code}: ${frame.message}`;
          log.warn("relay error", { code: frame.code, message: frame.message });
          return;
        }
        this.inflight.delete(frame.id);
        if (frame.code === "duplicate_envelope") {
          // Accepted earlier; the answer was lost with a connection.
          this.host.accepted(frame.id, new Date().toISOString());
        } else if (TRANSIENT.includes(frame.code)) {
          this.retryLater(frame.id);
          return;
        } else {
          this.host.refused(frame.id, frame.code, frame.message);
        }
        this.flush();
        return;
      case "deliver":
        this.serial(ws, frame.seq, () => this.host.deliver(frame.seq, frame.envelope));
        return;
      case "receipt":
        this.serial(ws, frame.seq, () => this.host.receipt(frame.receipt));
        return;
      case "pong":
        return;
    }
  }

  /** Handles deliveries strictly in order; acks after success, reconnects after failure. */
  private serial(ws: WebSocket, seq: number, fn: () => Promise<void>) {
    this.serialized.run(async () => {
      if (ws.readyState !== WebSocket.OPEN) return;
      try {
        await fn();
      } catch (err) {
        log.warn("delivery not stored; reconnecting to get it again", { seq, err });
        ws.close(4000, "delivery failed");
        return;
      }
      if (ws.readyState === WebSocket.OPEN) ws.send(`{"type":"ack","seq":${seq}}`);
    }).catch((err) => log.warn("ack not sent", { seq, err }));
  }

  private retryLater(id: string) {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      // Resend from the first still-pending row; later ones already accepted come back as
      // duplicate_envelope, which counts as accepted.
      this.lastSent = 0;
      this.flush();
    }, 1000 + Math.random() * 1000);
    log.info("relay asked to retry later", { id });
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
    const base = Math.min(max, min * 2 ** this.attempt++);
    const delay = base / 2 + Math.random() * base / 2;
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private setConnected(connected: boolean, detail?: string) {
    if (this.connected === connected && !detail) return;
    this.connected = connected;
    this.host.status(connected, detail);
  }
}
