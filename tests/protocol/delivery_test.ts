/** The delivery-state tables (lib/protocol/delivery.ts) against an oracle written out here. */
import { assert, assertEquals } from "../assert.ts";
import {
  advanceInbound,
  advanceOutbound,
  type DeliverySource,
  INBOUND_STATES,
  type InboundState,
  OUTBOUND_STATES,
  OUTBOUND_TERMINAL,
  type OutboundState,
  PAYLOAD_SCHEMAS,
  RECEIPT_STATES,
  TaskferryError,
} from "../../lib/protocol/mod.ts";

const SOURCES: DeliverySource[] = ["local", "relay", "peer"];
const LINE: OutboundState[] = ["queued", "accepted", "relayed", "delivered", "read", "processed"];

/** Who may report each state (design §7 + issue 13 item 5), written independently. */
const REPORTER: Record<OutboundState, DeliverySource[]> = {
  queued: ["local"],
  accepted: ["relay"],
  relayed: ["relay"],
  delivered: ["peer"],
  read: ["peer"],
  processed: ["peer"],
  failed: ["local", "relay", "peer"],
};

/** The expected state after `source` reports `next` in `current`, or "refused". */
function oracle(current: OutboundState, next: OutboundState, source: DeliverySource) {
  if (!REPORTER[next].includes(source)) return "refused";
  if (current === "processed" || current === "failed") return current;
  if (next === "failed") {
    // The relay's (or our own) failure counts until the peer confirms it has the envelope;
    // the peer's own failure until it has processed it.
    const limit = source === "peer" ? "processed" : "delivered";
    return LINE.indexOf(current) < LINE.indexOf(limit) ? "failed" : current;
  }
  return LINE.indexOf(next) > LINE.indexOf(current) ? next : current;
}

Deno.test("outbound: every (state, report, source) matches the oracle", () => {
  let count = 0;
  for (const current of OUTBOUND_STATES) {
    for (const next of OUTBOUND_STATES) {
      for (const source of SOURCES) {
        const expected = oracle(current, next, source);
        const step = advanceOutbound(current, next, source);
        const label = `${current} + ${source}:${next}`;
        if (expected === "refused") {
          assert(!step.ok, `${label} should be refused`);
          assert(step.error instanceof TaskferryError);
          assertEquals(step.error.code, "forbidden", label);
        } else {
          assert(step.ok, `${label} refused: ${!step.ok && step.error.message}`);
          assertEquals(step.state, expected, label);
          assertEquals(step.changed, expected !== current, label);
        }
        count++;
      }
    }
  }
  assertEquals(count, 7 * 7 * 3);
});

Deno.test("outbound: the relay can never claim what only the recipient can know", () => {
  for (const current of OUTBOUND_STATES) {
    for (const next of ["delivered", "read", "processed"] as const) {
      assert(!advanceOutbound(current, next, "relay").ok, `${current} → ${next}`);
    }
  }
  assertEquals([...OUTBOUND_TERMINAL].sort(), ["failed", "processed"]);
});

Deno.test("outbound: reports out of order end in the furthest state, whatever the order", () => {
  const reports: [OutboundState, DeliverySource][] = [
    ["accepted", "relay"],
    ["relayed", "relay"],
    ["delivered", "peer"],
    ["read", "peer"],
    ["processed", "peer"],
  ];
  // Every rotation and the reverse: receipts and relay frames travel separately.
  const orders = [reports, [...reports].reverse()];
  for (let i = 1; i < reports.length; i++) {
    orders.push([...reports.slice(i), ...reports.slice(0, i)]);
  }
  for (const order of orders) {
    let state: OutboundState = "queued";
    for (const [next, source] of order) {
      const step = advanceOutbound(state, next, source);
      assert(step.ok);
      state = step.state;
    }
    assertEquals(state, "processed", order.map(([s]) => s).join(","));
  }
});

Deno.test("inbound: marks only move forward; rejected never moves", () => {
  const rank: Record<InboundState, number> = { received: 0, read: 1, processed: 2, rejected: -1 };
  for (const current of INBOUND_STATES) {
    for (const next of INBOUND_STATES) {
      const step = advanceInbound(current, next);
      const label = `${current} → ${next}`;
      if (current === "rejected" || next === "received" || next === "rejected") {
        assert(!step.ok, label);
        assertEquals(step.error.code, "conflict", label);
        continue;
      }
      assert(step.ok, label);
      const forward = rank[next] > rank[current];
      assertEquals(step.state, forward ? next : current, label);
      assertEquals(step.changed, forward, label);
    }
  }
});

Deno.test("receipts carry exactly the states a peer may report, and old receipts stay valid", () => {
  assertEquals(
    [...RECEIPT_STATES].sort(),
    OUTBOUND_STATES.filter((s) => REPORTER[s].includes("peer")).sort(),
  );
  const id = "msg_01M7ZV3EG00000000000000001";
  // The shape of the first protocol release.
  for (const state of ["read", "processed", "failed"]) {
    assert(PAYLOAD_SCHEMAS.receipt.safeParse({ message_id: id, state }).success, state);
  }
  // A batch may not name an id twice.
  const twice = { message_id: id, message_ids: [id], state: "delivered" };
  assert(!PAYLOAD_SCHEMAS.receipt.safeParse(twice).success);
  const other = "msg_01M7ZV3EG00000000000000002";
  const dup = { message_id: id, message_ids: [other, other], state: "delivered" };
  assert(!PAYLOAD_SCHEMAS.receipt.safeParse(dup).success);
});
