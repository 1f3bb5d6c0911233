/**
 * Signed `delivered` receipts (issue 13 item 5): once the daemon has stored an inbound
 * envelope it tells the sender so in a receipt signed by the recipient agent's key, so
 * "delivered" no longer rests on the relay's word. What is owed is written with the envelope
 * (`receipts_due`, same transaction), so a crash between storing and sending loses nothing.
 * Receipts are coalesced per (local agent, peer): one envelope per {@link RECEIPT_DELAY_MS},
 * up to {@link MAX_RECEIPT_IDS} ids each.
 */
import { MAX_RECEIPT_IDS } from "../protocol/mod.ts";
import { logger } from "../log.ts";
import type { Daemon } from "./daemon.ts";

const log = logger("receipts");

/** How long ids wait to be batched into one receipt. */
export const RECEIPT_DELAY_MS = 200;
/** Owed rows read per pass. */
const PAGE = 4 * MAX_RECEIPT_IDS;

/** Sends owed `delivered` receipts, batched. */
export class DeliveredReceipts {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sending: Promise<void> = Promise.resolve();
  private busy = 0;

  constructor(private readonly d: Daemon) {}

  /** Whether the daemon records receipts it owes (only with a relay to send them through). */
  get enabled(): boolean {
    return this.d.link !== null;
  }

  /** Sends what is owed within {@link RECEIPT_DELAY_MS} (call after storing envelopes). */
  schedule() {
    if (!this.enabled || this.timer !== undefined) return;
    this.timer = setTimeout(() => void this.flush(), RECEIPT_DELAY_MS);
  }

  /** Whether nothing owed is waiting to become a receipt in the outbox (tests wait for this). */
  idle(): boolean {
    return this.timer === undefined && this.busy === 0 && this.d.store.messages.countOwed() === 0;
  }

  /** Puts everything owed into the outbox now (also on stop); resolves when done. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.busy++;
    this.sending = this.sending.then(() => this.#drain()).catch((err) =>
      log.warn("delivered receipts not queued", { err })
    ).finally(() => this.busy--);
    return this.sending;
  }

  async #drain() {
    for (;;) {
      const rows = this.d.store.messages.owed(PAGE);
      if (rows.length === 0) return;
      const groups = new Map<string, string[]>();
      for (const r of rows) {
        const key = `${r.agent}\n${r.peer}`;
        groups.set(key, [...(groups.get(key) ?? []), r.id]);
      }
      for (const [key, ids] of groups) {
        const [local, peer] = key.split("\n") as [string, string];
        for (let i = 0; i < ids.length; i += MAX_RECEIPT_IDS) {
          await this.#send(local, peer, ids.slice(i, i + MAX_RECEIPT_IDS));
        }
      }
    }
  }

  async #send(local: string, peer: string, ids: string[]) {
    const settle = () => this.d.store.messages.settleOwed(local, ids);
    // Receipts travel only over a connection (the relay refuses them otherwise).
    if (!this.d.store.connections.isConnected(local, peer)) return settle();
    const [first, ...rest] = ids as [string, ...string[]];
    await this.d.outbox.send({
      from: local,
      to: [peer],
      type: "receipt",
      payload: {
        message_id: first,
        ...(rest.length ? { message_ids: rest } : {}),
        state: "delivered",
      },
      // Owed rows go in the same transaction as the outbox row: sent once, never lost.
      effects: settle,
    });
  }
}
