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
import type { DaemonStore, MessageRow, StateCause } from "./store/mod.ts";

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
   * Applies `source`'s report that outbound message `id` is now `state`; returns the message's
   * agent and type when it moved, null when it did not. A report the machine refuses (the
   * relay claiming `delivered`) is logged and changes nothing.
   */
  advanceOut(
    id: string,
    state: string,
    source: DeliverySource,
    cause: StateCause = {},
  ): Moved | null {
    if (!isOutbound(state)) return null;
    // One UPDATE guarded by the states the machine moves forward from; a read only if not.
    const from = movableFrom(state, source);
    const row = from.length
      ? this.store.messages.moveOut(id, from, state, cause, this.nowIso())
      : undefined;
    if (!row) {
      this.#refused(id, state, source);
      return null;
    }
    const reason = causeText(cause);
    this.events.emit(
      "message_state",
      { id, state, type: row.type, ...(reason ? { reason } : {}) },
      row.agent,
    );
    return row;
  }

  /** Logs why a report did not move `id`, when the machine refused it (not a mere repeat). */
  #refused(id: string, state: OutboundState, source: DeliverySource) {
    const row = this.store.messages.outboundState(id);
    if (!row || !isOutbound(row.state)) return;
    const step = advanceOutbound(row.state, state, source);
    if (!step.ok) {
      log.warn("delivery report refused", { id, state, source, reason: step.error.message });
    }
  }
}

/** An outbound message that moved: its local agent and type. */
export type Moved = Pick<MessageRow, "agent" | "type">;

const movable = new Map<string, readonly OutboundState[]>();

/** The states from which `source`'s report of `state` moves an outbound message (memoized). */
function movableFrom(state: OutboundState, source: DeliverySource): readonly OutboundState[] {
  const key = `${state} ${source}`;
  let from = movable.get(key);
  if (!from) {
    from = OUTBOUND_STATES.filter((s) => {
      const step = advanceOutbound(s, state, source);
      return step.ok && step.changed && step.state === state;
    });
    movable.set(key, from);
  }
  return from;
}
