/**
 * Delivery states (design §7, issue 14): one table per direction and one pure function each,
 * like the task machine in tasks.ts. The daemon stores these states; the rule of which report
 * may move an envelope where lives only here.
 *
 * Outbound: queued → accepted → relayed → delivered → read → processed, or failed.
 *   `accepted` and `relayed` are the relay's word (it stored the envelope; it pushed it and the
 *   recipient's device acked). `delivered`, `read` and `processed` come only from a receipt the
 *   recipient daemon signed, so the relay cannot claim them.
 * Inbound: received → read → processed; `rejected` (refused on arrival) never moves.
 */
import { fail, type TaskferryError } from "./errors.ts";

/** Outbound envelope states, in the order they advance (`failed` is off the line). */
export const OUTBOUND_STATES = [
  "queued",
  "accepted",
  "relayed",
  "delivered",
  "read",
  "processed",
  "failed",
] as const;
export type OutboundState = typeof OUTBOUND_STATES[number];

/** Inbound envelope states (per local recipient). */
export const INBOUND_STATES = ["received", "read", "processed", "rejected"] as const;
export type InboundState = typeof INBOUND_STATES[number];

/** States a peer reports in a signed `receipt` payload. */
export const RECEIPT_STATES = ["delivered", "read", "processed", "failed"] as const;
export type ReceiptState = typeof RECEIPT_STATES[number];

/**
 * Who reports a state: the sending daemon itself, the relay (a frame on the authenticated
 * relay link), or the peer (a signed, encrypted `receipt` envelope from a recipient).
 */
export type DeliverySource = "local" | "relay" | "peer";

/** One outbound state: its place on the line and who may report it. */
interface OutboundRule {
  rank: number;
  by: readonly DeliverySource[];
}

/** The outbound table. `failed` has no rank: see {@link FAILED_BEFORE}. */
const OUTBOUND: Record<OutboundState, OutboundRule> = {
  queued: { rank: 0, by: ["local"] },
  accepted: { rank: 1, by: ["relay"] },
  relayed: { rank: 2, by: ["relay"] },
  delivered: { rank: 3, by: ["peer"] },
  read: { rank: 4, by: ["peer"] },
  processed: { rank: 5, by: ["peer"] },
  failed: { rank: -1, by: ["local", "relay", "peer"] },
};

/**
 * `failed` is reachable only from states ranked below these: the relay (or the sending daemon)
 * can fail an envelope until the peer confirms it has it; the peer until it has processed it.
 */
const FAILED_BEFORE: Record<DeliverySource, OutboundState> = {
  local: "delivered",
  relay: "delivered",
  peer: "processed",
};

/** States an outbound envelope never leaves. */
export const OUTBOUND_TERMINAL: readonly OutboundState[] = ["processed", "failed"];

/** The outcome of a report: the state to store, and whether it differs from the current one. */
export type DeliveryStep<S extends string> =
  | { ok: true; state: S; changed: boolean }
  | { ok: false; error: TaskferryError };

/**
 * Applies a report (`next`, by `source`) to an outbound envelope in state `current`. Reports
 * arrive out of order and more than once (relay frames and receipts travel separately), so a
 * report that is not forward — a repeat, an older state, anything after a terminal state — is
 * not an error: it returns the current state with `changed: false`. A report from a source
 * that may not make it (the relay saying `delivered`) is refused and changes nothing.
 *
 * @example
 * ```ts
 * advanceOutbound("relayed", "read", "peer"); // { ok: true, state: "read", changed: true }
 * advanceOutbound("accepted", "delivered", "relay").ok; // false: only the peer says delivered
 * ```
 */
export function advanceOutbound(
  current: OutboundState,
  next: OutboundState,
  source: DeliverySource,
): DeliveryStep<OutboundState> {
  const rule = OUTBOUND[next];
  if (!rule.by.includes(source)) {
    return {
      ok: false,
      error: fail("forbidden", `only ${rule.by.join(" or ")} may report ${next}, not ${source}`),
    };
  }
  const stay = { ok: true as const, state: current, changed: false };
  if (OUTBOUND_TERMINAL.includes(current)) return stay;
  if (next === "failed") {
    return OUTBOUND[current].rank < OUTBOUND[FAILED_BEFORE[source]].rank
      ? { ok: true, state: "failed", changed: true }
      : stay;
  }
  return rule.rank > OUTBOUND[current].rank ? { ok: true, state: next, changed: true } : stay;
}

const INBOUND_RANK: Record<InboundState, number> = {
  received: 0,
  read: 1,
  processed: 2,
  rejected: -1,
};

/**
 * Applies the local agent's mark (`read` / `processed`) to an inbound envelope in `current`.
 * Marks only move forward (a repeat or older mark is `changed: false`); an envelope refused on
 * arrival (`rejected`) cannot be marked (`conflict`), and nothing moves an envelope to
 * `received` or `rejected` after arrival.
 */
export function advanceInbound(
  current: InboundState,
  next: InboundState,
): DeliveryStep<InboundState> {
  if (current === "rejected") {
    return { ok: false, error: fail("conflict", "a rejected message cannot be marked") };
  }
  if (next === "received" || next === "rejected") {
    return { ok: false, error: fail("conflict", `${next} is set on arrival only`) };
  }
  return INBOUND_RANK[next] > INBOUND_RANK[current]
    ? { ok: true, state: next, changed: true }
    : { ok: true, state: current, changed: false };
}
