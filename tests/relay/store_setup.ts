/** Set-up done straight in a relay store, without sessions: what tests build their cases on. */
import { DEFAULT_PERMISSIONS } from "../../lib/protocol/mod.ts";
import type { EnvelopeRow, RelayStore } from "../../lib/relay/store.ts";
import type { SimAgent } from "./sim.ts";

/**
 * Connects `a` and `b` both ways, as an accepted `connection_accept` does (envelope
 * `msg_setup<n>`: give each call its own `n`).
 */
export async function connectInStore(store: RelayStore, a: SimAgent, b: SimAgent, n: number) {
  await store.acceptEnvelope(
    {
      id: `msg_setup${n}`,
      sender_client: "setup",
      from: a.handle,
      to: [b.handle],
      type: "connection_accept",
      body: "{}",
      accepted_at: Date.now(),
    },
    [],
    { connect: { a: a.handle, b: b.handle, permissions: { ...DEFAULT_PERMISSIONS } } },
  );
}

/** A `message` envelope row `id` from alice's client to `to` (bob's agent by default). */
export function messageRow(id: string, to = ["@bob/b"]): EnvelopeRow {
  return {
    id,
    sender_client: "alice",
    from: "@alice/a",
    to,
    type: "message",
    body: JSON.stringify({ id }),
    accepted_at: 1_000,
  };
}
