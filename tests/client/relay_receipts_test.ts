/**
 * The relay's receipts (`relayed`) of one socket read are stored in one transaction and acked
 * only after it commits (lib/client/relay_link.ts `applyReceipts`): driven through real
 * daemons, a batch that cannot be stored is not acked, the link reconnects, the relay sends
 * those receipts again, and in the end every message is relayed and nothing stays pending.
 */
import { assert, assertEquals } from "../assert.ts";
import { ALICE, BOB } from "./helpers.ts";
import { eventually, startWorld } from "./world.ts";

Deno.test("relay receipts: a batch that fails to store is not acked and comes again", async () => {
  const world = await startWorld();
  try {
    const { alice, bob } = world;
    // Bob's signed `delivered` receipts would overtake `relayed`: bob's daemon sends none here.
    // (The pass already scheduled, for the connection request, runs now: it would take
    // alice's first messages with it.)
    const receipts = bob.running.daemon.inbound.receipts;
    receipts.schedule = () => {};
    await receipts.flush();
    const delivery = alice.running.daemon.delivery;
    const original = delivery.advanceOut.bind(delivery);
    const relayed = new Map<string, number>();
    let failures = 0;
    delivery.advanceOut = (id, state, source, cause) => {
      if (source === "relay" && state === "relayed") {
        relayed.set(id, (relayed.get(id) ?? 0) + 1);
        // The first batch fails as a full disk would: nothing of it may be acked.
        if (failures++ === 0) throw new Error("database or disk is full");
      }
      return original(id, state, source, cause);
    };
    const ids: string[] = [];
    await Promise.all(Array.from({ length: 4 }, async (_, lane) => {
      for (let i = 0; i < 10; i++) {
        ids.push((await alice.api.send({ from: ALICE, to: BOB, text: `${lane}.${i}` })).message.id);
      }
    }));
    await eventually(async () => {
      const states = await Promise.all(ids.map(async (id) => (await alice.api.message(id)).state));
      return states.every((s) => s === "relayed");
    });
    assert(failures > 1);
    // The receipt of the failed batch came again (unacked), and was then stored.
    assert([...relayed.values()].some((n) => n >= 2), JSON.stringify([...relayed]));
    // Every receipt the relay queued for alice was acked at last.
    await eventually(async () =>
      (await world.relay.relay.store.pendingDeliveries("alice", 0, 100)).length === 0
    );
    assertEquals(ids.length, 40);
  } finally {
    await world.close();
  }
});
