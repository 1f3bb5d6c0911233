/**
 * What the relay answers, in one path: the host object the relay link is built with. Outbox
 * answers (`accepted`, `refused`), delivery receipts, deliveries (handed to the inbound
 * pipeline), the outbox feed and the link's status all come in here.
 */
import { type Envelope, isTaskType } from "../protocol/mod.ts";
import { revertRefusedConnection, syncPermissions } from "./connections.ts";
import type { Daemon } from "./daemon.ts";
import type { LinkHost } from "./relay_link.ts";
import { revertRefusedTaskEvent } from "./tasks/mod.ts";

/** The relay link's host for `d`. */
export function linkHost(d: Daemon): LinkHost {
  return {
    // Looked up on each call, so a test can wrap `d.inbound.deliverBatch`.
    deliver: (items) => d.inbound.deliverBatch(items),
    // The relay's "delivered" means only that it pushed the envelope and the recipient's device
    // acked: shown as `relayed`. `delivered` itself comes from the peer's signed receipt.
    // A socket read's receipts and `accepted` answers are stored in the outbox's group commit
    // (with the sends of that turn): a commit costs more than the writes (issue 21).
    receipts: (receipts) =>
      d.lock.run(() =>
        d.outbox.commitWith(() => {
          for (const r of receipts) {
            const state = r.state === "delivered" ? "relayed" : r.state;
            d.delivery.advanceOut(r.id, state, "relay", { reason: r.reason });
          }
        })
      ),
    accepted: (id) => {
      const write = () => {
        d.store.outbox.markAccepted(id);
        return d.delivery.advanceOut(id, "accepted", "relay");
      };
      // One commit for both rows (a commit costs more than either write); inside the batch of
      // a socket read's answers (`batch`), the batch's transaction, which fails as a whole.
      const moved = d.store.db.isTransaction ? write() : d.store.transaction(write);
      const type = moved ? moved.type : d.store.messages.outboundState(id)?.type;
      if (type === "connection_accept") {
        syncPermissions(d).catch(() => {});
        // The relay links us only now: watching the new peer's presence is allowed from here.
        d.link?.announcePresence();
      }
    },
    batch: (fn) => d.outbox.commitWith(fn),
    refused: (id, code, message) => {
      d.store.outbox.markFailed(id, code);
      d.delivery.advanceOut(id, "failed", "relay", { code, reason: message });
      const row = d.store.messages.outbound(id);
      if (!row) return;
      const env = JSON.parse(row.envelope) as Envelope;
      if (isTaskType(env.type)) revertRefusedTaskEvent(d, id, `${code}: ${message}`);
      if (env.type.startsWith("connection_")) revertRefusedConnection(d, env);
    },
    presence: { scope: () => d.presence.scope(), apply: (frame) => d.presence.apply(frame) },
    pendingOutbox: (after, limit) => d.store.outbox.pending(after, limit),
    // Receipts still being batched go into the outbox (sent on the next start).
    stopping: () => d.inbound.receipts.flush(),
    status: (connected, detail) => {
      d.presence.link(connected);
      d.events.emit("relay", { connected, ...(detail ? { detail } : {}) });
      if (connected) d.keyring.registerPending().catch(() => {});
      // Receipts owed from before a restart go out now.
      if (connected) d.inbound.receipts.schedule();
    },
  };
}
