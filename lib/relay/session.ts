/**
 * One daemon's WebSocket session: frames in a serial queue, one writer, and the push side of
 * the durable delivery queue (in seq order, a bounded in-flight window, retry with backoff).
 */
import { CLOSE_CODES, type RelayFrame } from "../protocol/mod.ts";
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

/** A live, authenticated session. */
export class Session {
  private lastQueued = 0;
  private readonly inflight = new Map<
    number,
    { sentAt: number; attempts: number; frame: string }
  >();
  private pumping = false;
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

  /** Marks a delivery acked (stops its retries). */
  acked(seq: number) {
    this.inflight.delete(seq);
  }

  /** Sends queued deliveries in order until the window is full or the queue is empty. */
  async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        while (!this.closed && this.inflight.size < WINDOW) {
          if (this.ws.bufferedAmount > HIGH_WATER_BYTES) {
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          const rows = await this.host.pending(
            this.clientId,
            this.lastQueued,
            Math.min(256, WINDOW - this.inflight.size),
          );
          if (rows.length === 0) break;
          for (const row of rows) {
            const frame = row.kind === "envelope"
              ? `{"type":"deliver","seq":${row.seq},"envelope":${row.body}}`
              : `{"type":"receipt","seq":${row.seq},"receipt":${row.body}}`;
            this.lastQueued = row.seq;
            this.inflight.set(row.seq, { sentAt: Date.now(), attempts: row.attempts, frame });
            if (!this.send(frame)) return;
          }
        }
      } while (this.again && !this.closed);
    } finally {
      this.pumping = false;
    }
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

  /** Number of unacked deliveries out on this socket. */
  get inflightCount(): number {
    return this.inflight.size;
  }
}
