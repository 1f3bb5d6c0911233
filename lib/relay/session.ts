/**
 * One daemon's WebSocket session: frames in a serial queue, one writer, and the push side of
 * the durable delivery queue (in seq order, a bounded in-flight window, retry with backoff).
 */
import { setImmediate } from "node:timers";
import { CLOSE_CODES, type RelayFrame } from "../protocol/mod.ts";
import { logger } from "../log.ts";
import type { DeliveryRow } from "./store.ts";

/** What a session needs from its relay. */
export interface SessionHost {
  pending(clientId: string, afterSeq: number, limit: number): Promise<DeliveryRow[]>;
  noteAttempt(clientId: string, seq: number): Promise<void>;
  retryBaseMs: number;
}

/** Unacked deliveries a session may have out at once. */
const WINDOW = 512;
/** Stop writing while the socket holds this many unsent bytes. */
const HIGH_WATER_BYTES = 8 * 1024 * 1024;
const MAX_RETRY_MS = 60_000;
const log = logger("relay");

/** A live, authenticated session. */
export class Session {
  private lastQueued = 0;
  private readonly inflight = new Map<
    number,
    { sentAt: number; attempts: number; frame: string }
  >();
  private pumping = false;
  private pumpScheduled = false;
  /** The last pump found the queue drained and every row since was pushed by `offer`. */
  private caughtUp = false;
  private again = false;
  closed = false;

  constructor(
    readonly clientId: string,
    readonly deviceId: string,
    private readonly ws: WebSocket,
    private readonly host: SessionHost,
  ) {}

  /** The only writer of this socket. */
  send(frame: RelayFrame | string): boolean {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    return true;
  }

  /** Closes the socket with a code and reason. */
  close(code: number = CLOSE_CODES.shutdown, reason = "") {
    if (this.closed) return;
    this.closed = true;
    try {
      this.ws.close(code, reason);
    } catch {
      // already closing
    }
  }

  /**
   * Marks a delivery acked (stops its retries). True when this ack opened room in a full
   * window: only then can queued rows be waiting that no wake-up will push.
   */
  acked(seq: number): boolean {
    const wasFull = this.inflight.size >= WINDOW;
    return this.inflight.delete(seq) && wasFull;
  }

  /**
   * Rows just committed for this session, in seq order, handed over by the code that wrote
   * them. When the session is caught up (its last read found the queue drained and every row
   * since came through here) they are pushed as they are, without reading them back;
   * otherwise a pump reads them from the store in order. Only for a store whose rows all come
   * through this process (`RelayStore.singleWriter`).
   */
  offer(rows: readonly DeliveryRow[]) {
    if (this.closed || rows.length === 0) return;
    const direct = this.caughtUp && !this.pumping && !this.pumpScheduled &&
      rows[0]!.seq > this.lastQueued &&
      this.inflight.size + rows.length <= WINDOW &&
      this.ws.bufferedAmount <= HIGH_WATER_BYTES;
    if (!direct) {
      this.pumpSoon();
      return;
    }
    for (const row of rows) {
      if (!this.push(row)) return;
    }
  }

  /**
   * Pumps once at the end of this turn of the event loop: the rows queued for this session
   * during the turn (one per accepted envelope or receipt) are then read with one query.
   */
  pumpSoon() {
    this.caughtUp = false;
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump().catch((err) => log.warn("pump failed", { err, client_id: this.clientId }));
    });
  }

  /** Sends queued deliveries in order until the window is full or the queue is empty. */
  async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    this.caughtUp = false;
    let drained = false;
    try {
      do {
        this.again = false;
        drained = false;
        while (!this.closed && this.inflight.size < WINDOW) {
          if (this.ws.bufferedAmount > HIGH_WATER_BYTES) {
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          const limit = Math.min(256, WINDOW - this.inflight.size);
          const rows = await this.host.pending(this.clientId, this.lastQueued, limit);
          for (const row of rows) {
            if (!this.push(row)) return;
          }
          // A short page means the queue was drained when it was read; rows queued since then
          // woke this pump (`again`) or will start the next one, so asking again finds nothing.
          if (rows.length < limit) {
            drained = true;
            break;
          }
        }
      } while (this.again && !this.closed);
      this.caughtUp = drained && !this.closed;
    } finally {
      this.pumping = false;
    }
  }

  /** Sends one queued row and tracks it until acked; false when the socket is gone. */
  private push(row: DeliveryRow): boolean {
    const frame = row.kind === "envelope"
      ? `{"type":"deliver","seq":${row.seq},"envelope":${row.body}}`
      : `{"type":"receipt","seq":${row.seq},"receipt":${row.body}}`;
    this.lastQueued = row.seq;
    this.inflight.set(row.seq, { sentAt: Date.now(), attempts: row.attempts, frame });
    return this.send(frame);
  }

  /** Resends deliveries whose ack is overdue, with exponential backoff per delivery. */
  async retryOverdue(now: number) {
    for (const [seq, entry] of this.inflight) {
      const wait = Math.min(this.host.retryBaseMs * 2 ** entry.attempts, MAX_RETRY_MS);
      if (now - entry.sentAt < wait) continue;
      entry.attempts++;
      entry.sentAt = now;
      await this.host.noteAttempt(this.clientId, seq);
      if (!this.send(entry.frame)) return;
    }
  }

  /**
   * For a store written by several nodes: rows can commit out of seq order (another node's
   * transaction with a lower seq commits after a higher one was pushed). Sends pending rows
   * below the pump's position that are neither in flight nor acked.
   */
  async catchUpGaps() {
    if (this.closed || this.inflight.size >= WINDOW) return;
    const rows = await this.host.pending(this.clientId, 0, WINDOW);
    for (const row of rows) {
      if (row.seq >= this.lastQueued || this.inflight.has(row.seq)) continue;
      const frame = row.kind === "envelope"
        ? `{"type":"deliver","seq":${row.seq},"envelope":${row.body}}`
        : `{"type":"receipt","seq":${row.seq},"receipt":${row.body}}`;
      this.inflight.set(row.seq, { sentAt: Date.now(), attempts: row.attempts, frame });
      if (!this.send(frame)) return;
    }
  }

  /** Number of unacked deliveries out on this socket. */
  get inflightCount(): number {
    return this.inflight.size;
  }
}
