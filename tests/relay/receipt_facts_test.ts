/**
 * Receipt facts in memory (lib/relay/store/sqlite_receipts.ts): an ack builds the `delivered`
 * receipt from what the accept's COMMIT left in memory, the same receipt the envelope's row
 * gives after a restart; an accept that is undone leaves nothing behind.
 */
import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import type { EnvelopeRow } from "../../lib/relay/store.ts";
import { openSqliteRelayStore, type SqliteRelayStore } from "../../lib/relay/sqlite_store.ts";
import { messageRow } from "./store_setup.ts";

/** Accepts `e` for `clients` in the turn's group; `refuse` undoes it after its writes. */
function accept(store: SqliteRelayStore, e: EnvelopeRow, clients: string[], refuse = false) {
  let queued: { client_id: string; seq: number }[] = [];
  const done = store.grouped(async (s) => {
    await s.insertEnvelope(e);
    queued = await s.queueEnvelope(e, clients, {});
    if (refuse) throw new Error("refused after writing");
  }, () => {});
  return done.then(() => queued);
}

Deno.test("receipt facts: an ack's receipt from memory equals the one read from the row", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-facts-" });
  const path = join(dir, "relay.db");
  let store = openSqliteRelayStore(path, { checkpoint: false });
  try {
    for (const c of ["alice", "bob", "carol"]) await store.addClient(c, "h", 1);
    const to = ["@bob/b", "@carol/c", "@bob/d"];
    const [m1, m2] = await Promise.all([
      accept(store, messageRow("msg_1", to), ["bob", "carol"]),
      accept(store, messageRow("msg_2", to), ["bob", "carol"]),
    ]);
    assertEquals(store.cacheStats.facts, 2);
    // msg_1: both recipient clients ack from memory; its facts are then dropped.
    const bob1 = await store.ackDelivery("bob", m1!.find((q) => q.client_id === "bob")!.seq, 2_000);
    const carol1 = await store.ackDelivery(
      "carol",
      m1!.find((q) => q.client_id === "carol")!.seq,
      2_000,
    );
    assertEquals(store.cacheStats.facts, 1);
    // msg_2 after a restart: nothing in memory, the receipt comes from the envelope's row.
    await store.close();
    store = openSqliteRelayStore(path, { checkpoint: false });
    assertEquals(store.cacheStats.facts, 0);
    const bob2 = await store.ackDelivery("bob", m2!.find((q) => q.client_id === "bob")!.seq, 2_000);
    const carol2 = await store.ackDelivery(
      "carol",
      m2!.find((q) => q.client_id === "carol")!.seq,
      2_000,
    );
    const body = (r: typeof bob1) => ({ ...JSON.parse(r.receipt!.body), id: "-" });
    for (const [memory, read] of [[bob1, bob2], [carol1, carol2]] as const) {
      assertEquals(memory.acked && read.acked, true);
      assertEquals(memory.receipt!.client_id, "alice");
      assertEquals(read.receipt!.client_id, "alice");
      assertEquals(body(memory), body(read));
      assertEquals(memory.accepted_at, 1_000);
      assertEquals(read.accepted_at, 1_000);
    }
    assertEquals(JSON.parse(bob1.receipt!.body).recipients, ["@bob/b", "@bob/d"]);
    assertEquals(JSON.parse(carol1.receipt!.body).recipients, ["@carol/c"]);
    // A repeated ack is not acked again and queues no second receipt.
    const again = await store.ackDelivery("bob", m2!.find((q) => q.client_id === "bob")!.seq, 3);
    assertEquals(again, { acked: false });
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("receipt facts: an undone accept leaves none; the accepted one's receipt still comes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-facts-" });
  const store = openSqliteRelayStore(join(dir, "relay.db"), { checkpoint: false });
  try {
    for (const c of ["alice", "bob"]) await store.addClient(c, "h", 1);
    const [kept] = await Promise.all([
      accept(store, messageRow("msg_kept", ["@bob/b"]), ["bob"]),
      accept(store, messageRow("msg_undone", ["@bob/b"]), ["bob"], true),
    ]);
    // The undone accept cleared what the transaction had staged: the kept one reads its row.
    assertEquals(store.cacheStats.facts, 0);
    const pending = await store.pendingDeliveries("bob", 0, 10);
    assertEquals(pending.map((d) => d.envelope_id), ["msg_kept"]);
    const acked = await store.ackDelivery("bob", kept![0]!.seq, 2_000);
    assertEquals(acked.receipt?.client_id, "alice");
    assertEquals(JSON.parse(acked.receipt!.body).recipients, ["@bob/b"]);
    // Accepted alone, the facts are kept until the ack.
    const [next] = await accept(store, messageRow("msg_next", ["@bob/b"]), ["bob"]);
    assertEquals(store.cacheStats.facts, 1);
    assertEquals((await store.ackDelivery("bob", next!.seq, 2_000)).acked, true);
    assertEquals(store.cacheStats.facts, 0);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
