/**
 * One daemon's WebSocket session: one writer, and the push side of the durable delivery queue
 * (in seq order, a window bounded in deliveries and in bytes, retry with backoff). Pushed
 * deliveries are not kept in memory: a retry reads the row from the store again, so a
 * recipient that reads but never acks costs the relay a few numbers per delivery.
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
  /** Bytes of pushed, unacked deliveries past which nothing more is pushed. */
  maxUnackedBytes: number;
  /** The largest row a page read may return (bounds a page's memory). */
  maxEnvelopeBytes: number;
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
    { sentAt: number; attempts: number; bytes: number }
  >();
  /** Sum of `bytes` over `inflight`. */
  private inflightBytes = 0;
  private pumping = false;
  private pumpScheduled = false;
  /** The last pump found the queue drained and every row since was pushed by `offer`. */
  private caughtUp = false;
  private again = false;
  /** The last pump stopped at the byte budget with rows left: the next ack must pump. */
  private starved = false;
  closed = false;
  /**
   * The session's envelopes enter the accept checks in the order they were sent (relay.ts):
   * this settles when the last one has entered.
   */
  accepting: Promise<void> = Promise.resolve();

  constructor(
    readonly clientId: string,
    readonly deviceId: string,
    /** The token hash the session authenticated with: a rotation ends the session. */
    readonly tokenHash: string,
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
    const wasFull = this.full || this.starved;
    const entry = this.inflight.get(seq);
    if (!entry) return false;
    this.inflight.delete(seq);
    this.inflightBytes -= entry.bytes;
    return wasFull;
  }

  /** No room to push more: the window is full in deliveries or in bytes. */
  private get full(): boolean {
    return this.inflight.size >= WINDOW ||
      (this.inflight.size > 0 && this.inflightBytes >= this.host.maxUnackedBytes);
  }

  /** Rows a page may read now: within the window, and within the byte budget at worst case. */
  private pageRows(): number {
    const bytesLeft = Math.max(0, this.host.maxUnackedBytes - this.inflightBytes);
    const byBytes = Math.max(1, Math.floor(bytesLeft / this.host.maxEnvelopeBytes));
    return Math.min(256, WINDOW - this.inflight.size, byBytes);
  }

  /** True when `row` fits the byte budget (the first unacked row always does). */
  private fits(row: DeliveryRow): boolean {
    return this.inflight.size === 0 ||
      this.inflightBytes + row.body.length <= this.host.maxUnackedBytes;
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
      this.inflightBytes + rows.reduce((n, r) => n + r.body.length, 0) <=
        this.host.maxUnackedBytes &&
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
    this.starved = false;
    let drained = false;
    try {
      do {
        this.again = false;
        drained = false;
        while (!this.closed && !this.full) {
          if (this.ws.bufferedAmount > HIGH_WATER_BYTES) {
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          const limit = this.pageRows();
          const rows = await this.host.pending(this.clientId, this.lastQueued, limit);
          let stopped = false;
          for (const row of rows) {
            // Over the byte budget: the row stays queued; an ack makes room and pumps again.
            if (!this.fits(row)) {
              stopped = true;
              break;
            }
            if (!this.push(row)) return;
          }
          if (stopped) {
            this.starved = true;
            break;
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

  /** Sends one queued row and tracks it (not its body) until acked; false when gone. */
  private push(row: DeliveryRow): boolean {
    if (row.seq > this.lastQueued) this.lastQueued = row.seq;
    this.track(row);
    return this.send(frameOf(row));
  }

  private track(row: DeliveryRow) {
    const bytes = row.body.length;
    const old = this.inflight.get(row.seq);
    if (old) this.inflightBytes -= old.bytes;
    this.inflight.set(row.seq, { sentAt: Date.now(), attempts: row.attempts, bytes });
    this.inflightBytes += bytes;
  }

  /**
   * Resends deliveries whose ack is overdue, with exponential backoff per delivery. The frame
   * is rebuilt from the store's row; a row no longer pending (acked, failed) is dropped.
   */
  async retryOverdue(now: number) {
    for (const [seq, entry] of [...this.inflight]) {
      const wait = Math.min(this.host.retryBaseMs * 2 ** entry.attempts, MAX_RETRY_MS);
      if (now - entry.sentAt < wait) continue;
      entry.attempts++;
      entry.sentAt = now;
      const [row] = await this.host.pending(this.clientId, seq - 1, 1);
      if (row?.seq !== seq) {
        this.acked(seq);
        continue;
      }
      await this.host.noteAttempt(this.clientId, seq);
      if (!this.send(frameOf(row))) return;
    }
  }

  /**
   * For a store written by several nodes: rows can still commit out of seq order where no
   * queue lock orders them (the expiry sweep's receipts, a node not upgraded yet; see
   * store/write_lane.ts). Sends pending rows below the pump's position that are neither in
   * flight nor acked.
   */
  async catchUpGaps() {
    if (this.closed || this.full) return;
    const rows = await this.host.pending(this.clientId, 0, this.pageRows());
    for (const row of rows) {
      if (row.seq >= this.lastQueued || this.inflight.has(row.seq)) continue;
      if (!this.fits(row)) return;
      if (!this.push(row)) return;
    }
  }

  /** Number of unacked deliveries out on this socket. */
  get inflightCount(): number {
    return this.inflight.size;
  }
}

/** The frame that carries a queued row. */
function frameOf(row: DeliveryRow): string {
  return row.kind === "envelope"
    ? `{"type":"deliver","seq":${row.seq},"envelope":${row.body}}`
    : `{"type":"receipt","seq":${row.seq},"receipt":${row.body}}`;
}
