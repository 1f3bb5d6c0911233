/**
 * The daemon's one writer of delivery states (design §7). Which report may move an envelope
 * where lives in the protocol's machine (`lib/protocol/delivery.ts`: `advanceOutbound`,
 * `advanceInbound`); this file stores what it allows and announces it. The relay's word moves
 * an outbound envelope to `accepted`, `relayed` or `failed` only; `delivered`, `read` and
 * `processed` come from a receipt the recipient signed.
 */
import {
  advanceInbound,
  advanceOutbound,
  type DeliverySource,
  INBOUND_STATES,
  type InboundState,
  OUTBOUND_STATES,
  type OutboundState,
} from "../protocol/delivery.ts";
import { logger } from "../log.ts";
import type { EventBus } from "./events.ts";
import type { DaemonStore, StateCause } from "./store/mod.ts";

const log = logger("delivery");

/**
 * Whether the local agent's mark `to` moves an inbound message in `from` forward (a repeat or
 * an older mark: false). Throws `conflict` for a message refused on arrival (`rejected`).
 */
export function inMovesForward(from: string, to: string): boolean {
  if (!isInbound(from) || !isInbound(to)) return false;
  const step = advanceInbound(from, to);
  if (!step.ok) throw step.error;
  return step.changed;
}

/** A cause as one line, the way views and events show it ("code: reason"). */
export function causeText(cause: StateCause): string | undefined {
  if (cause.code !== undefined) return `${cause.code}: ${cause.reason ?? ""}`;
  return cause.reason;
}

function isInbound(s: string): s is InboundState {
  return (INBOUND_STATES as readonly string[]).includes(s);
}

function isOutbound(s: string): s is OutboundState {
  return (OUTBOUND_STATES as readonly string[]).includes(s);
}

/** Writes outbound delivery states and announces them. */
export class DeliveryStates {
  constructor(
    private readonly store: DaemonStore,
    private readonly events: EventBus,
    private readonly nowIso: () => string,
  ) {}

  /**
   * Applies `source`'s report that outbound message `id` is now `state`; true when it moved.
   * A report the machine refuses (the relay claiming `delivered`) is logged and changes nothing.
   */
  advanceOut(
    id: string,
    state: string,
    source: DeliverySource,
    cause: StateCause = {},
  ): boolean {
    const row = this.store.messages.outboundState(id);
    if (!row || !isOutbound(state) || !isOutbound(row.state)) return false;
    const step = advanceOutbound(row.state, state, source);
    if (!step.ok) {
      log.warn("delivery report refused", { id, state, source, reason: step.error.message });
      return false;
    }
    if (!step.changed) return false;
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
