/**
 * Signed `delivered` receipts (issue 13 item 5): once the daemon has stored an inbound
 * envelope it tells the sender so in a receipt signed by the recipient agent's key, so
 * "delivered" no longer rests on the relay's word. Receipts are coalesced per (local agent,
 * peer): one envelope every {@link RECEIPT_DELAY_MS} or every {@link MAX_RECEIPT_IDS} ids.
 */
import { MAX_RECEIPT_IDS } from "../protocol/mod.ts";
import { logger } from "../log.ts";
import type { Daemon } from "./daemon.ts";

const log = logger("receipts");

/** How long ids wait to be batched into one receipt. */
export const RECEIPT_DELAY_MS = 200;

/** Collects stored envelope ids and sends them back as `delivered` receipts. */
export class DeliveredReceipts {
  /** `local \n peer` → ids stored, in arrival order. */
  private readonly pending = new Map<string, string[]>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sending: Promise<void> = Promise.resolve();
  /** Batches taken from `pending` and not yet in the outbox. */
  private inFlight = 0;

  constructor(private readonly d: Daemon) {}

  /** Notes that `local` stored envelope `id` from `peer` (call after the commit). */
  add(local: string, peer: string, id: string) {
    // Without a relay there is no one to tell (and nothing to queue for later).
    if (!this.d.link) return;
    const key = `${local}\n${peer}`;
    const ids = this.pending.get(key) ?? [];
    ids.push(id);
    this.pending.set(key, ids);
    const full = ids.length >= MAX_RECEIPT_IDS;
    if (full || this.timer === undefined) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush(), full ? 0 : RECEIPT_DELAY_MS);
    }
  }

  /** Whether nothing is waiting to become a receipt in the outbox (tests wait for this). */
  idle(): boolean {
    return this.pending.size === 0 && this.inFlight === 0;
  }

  /** Sends everything pending now (also on stop); resolves when it is in the outbox. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batches = [...this.pending];
    this.pending.clear();
    this.inFlight += batches.length;
    this.sending = this.sending.then(async () => {
      for (const [key, ids] of batches) {
        const [local, peer] = key.split("\n") as [string, string];
        // Receipts travel only over a connection (the relay refuses them otherwise).
        const connected = this.d.store.connections.isConnected(local, peer);
        for (let i = 0; connected && i < ids.length; i += MAX_RECEIPT_IDS) {
          const [first, ...rest] = ids.slice(i, i + MAX_RECEIPT_IDS);
          await this.d.outbox.send({
            from: local,
            to: [peer],
            type: "receipt",
            payload: {
              message_id: first,
              ...(rest.length ? { message_ids: rest } : {}),
              state: "delivered",
            },
          }).catch((err) => log.warn("delivered receipt not queued", { peer, err }));
        }
        this.inFlight--;
      }
    });
    return this.sending;
  }
}
