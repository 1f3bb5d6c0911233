/**
 * The relay link's inbound side: deliveries are handled strictly in arrival order, in batches —
 * each batch takes what arrived while the previous one was being stored — and every envelope is
 * acked only after the commit that stored it. A batch that could not store everything makes the
 * link reconnect, so the relay sends the rest again (deduplicated by envelope id).
 */
import { logger } from "../log.ts";
import type { LinkHost } from "./relay_link_rules.ts";
import { Mutex } from "./util.ts";

const log = logger("relay-link");

/** Most deliveries stored with one commit (what waits behind a batch joins the next). */
export const DELIVERY_BATCH = 64;

/** Batches deliveries to the host and acks them on the socket each came by. */
export class LinkDeliveries {
  /** Batches (and acks of malformed receipts), one at a time in arrival order. */
  readonly #serialized = new Mutex();
  /** Deliveries not yet handed over; a batch is queued on the mutex while there are any. */
  #queued: [WebSocket, number, unknown][] = [];
  /** Batches in a row that could not be stored: backs reconnects off (reset on success). */
  failures = 0;

  constructor(private readonly host: Pick<LinkHost, "deliver">) {}

  /** Queues a delivery; a batch takes every delivery queued when its turn comes. */
  add(ws: WebSocket, seq: number, envelope: unknown) {
    this.#queued.push([ws, seq, envelope]);
    if (this.#queued.length === 1) this.#next();
  }

  /** Acks `seq` (a malformed receipt, which changes nothing) in order with the deliveries. */
  ackInOrder(ws: WebSocket, seq: number) {
    this.#serialized.run(() => Promise.resolve(ack(ws, seq)))
      .catch((err) => log.warn("ack not sent", { seq, err }));
  }

  /** Resolves once what was queued before has been handled. */
  idle(): Promise<void> {
    return this.#serialized.run(() => Promise.resolve());
  }

  #next() {
    this.#serialized.run(() => this.#batch())
      .catch((err) => log.warn("deliveries not handled", { err }));
  }

  async #batch() {
    const taken = this.#queued.splice(0, DELIVERY_BATCH);
    if (this.#queued.length) this.#next();
    // Deliveries of a closed socket come again on the next one.
    const items = taken.filter(([ws]) => ws.readyState === WebSocket.OPEN);
    if (!items.length) return;
    let stored = 0;
    let error: unknown;
    try {
      ({ stored, error } = await this.host.deliver(
        items.map(([, seq, envelope]) => ({ seq, envelope })),
      ));
    } catch (err) {
      error = err; // nothing of the batch is acked
    }
    for (const [ws, seq] of items.slice(0, stored)) ack(ws, seq);
    if (stored >= items.length) {
      this.failures = 0;
      return;
    }
    this.failures++;
    log.warn("delivery not stored; reconnecting to get it again", {
      seq: items[stored]![1],
      attempts: this.failures,
      err: error,
    });
    for (const [ws] of items) ws.close(4000, "delivery failed");
  }
}

function ack(ws: WebSocket, seq: number) {
  if (ws.readyState === WebSocket.OPEN) ws.send(`{"type":"ack","seq":${seq}}`);
}
