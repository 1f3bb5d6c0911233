/**
 * Delivery states (design §7) as a table plus pure functions, and the one writer of outbound
 * states. Outbound: `queued → accepted → delivered → read → processed`, or `failed` (with a
 * code and reason) before the recipient read it. Inbound: `received → read → processed`, or
 * `rejected` when it could not be applied.
 */
import type { EventBus } from "./events.ts";
import type { DaemonStore, StateCause } from "./store/mod.ts";

/** Outbound message states, in the order they advance. */
export const OUT_STATES = ["queued", "accepted", "delivered", "read", "processed"] as const;

/** Inbound message states, in the order they advance. */
export const IN_STATES = ["received", "read", "processed"] as const;

/** Whether an outbound message in `from` may move to `to` (never backwards). */
export function outMovesForward(from: string, to: string): boolean {
  const order = OUT_STATES as readonly string[];
  // `failed` only before the recipient read it, and only once.
  if (to === "failed") return from !== "failed" && order.indexOf(from) < order.indexOf("read");
  return order.indexOf(to) > order.indexOf(from);
}

/** Whether an inbound message in `from` may move to `to` (never backwards). */
export function inMovesForward(from: string, to: string): boolean {
  const order = IN_STATES as readonly string[];
  return order.indexOf(to) > order.indexOf(from);
}

/** A cause as one line, the way views and events show it ("code: reason"). */
export function causeText(cause: StateCause): string | undefined {
  if (cause.code !== undefined) return `${cause.code}: ${cause.reason ?? ""}`;
  return cause.reason;
}

/** Writes outbound delivery states and announces them. */
export class DeliveryStates {
  constructor(
    private readonly store: DaemonStore,
    private readonly events: EventBus,
    private readonly nowIso: () => string,
  ) {}

  /** Advances outbound message `id` to `state` if that moves it forward; true when it did. */
  advanceOut(id: string, state: string, cause: StateCause = {}): boolean {
    const row = this.store.messages.outbound(id);
    if (!row || !outMovesForward(row.state, state)) return false;
    this.store.messages.setOutState(id, state, cause, this.nowIso());
    const reason = causeText(cause);
    this.events.emit(
      "message_state",
      { id, state, type: row.type, ...(reason ? { reason } : {}) },
      row.agent,
    );
    return true;
  }
}
