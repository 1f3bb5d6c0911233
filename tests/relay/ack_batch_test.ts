/**
 * SQLite acks batched per COMMIT (lib/relay/store/sqlite_acks.ts): an ack deletes its delivery
 * and keeps its client's newest ack; when the batch throws, each ack runs again alone, so one
 * failing ack fails only itself.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertRejects } from "../assert.ts";
import { openSqliteRelayStore, type RelayStore } from "../../lib/relay/mod.ts";
import { messageRow } from "./store_setup.ts";

/** Queues `ids` from alice to bob; returns bob's delivery seqs. */
async function queue(store: RelayStore, ids: string[]): Promise<number[]> {
  for (const c of ["alice", "bob"]) await store.addClient(c, "h", 1);
  const seqs: number[] = [];
  for (const id of ids) {
    const [d] = await store.acceptEnvelope(messageRow(id), ["bob"], {});
    seqs.push(d!.seq);
  }
  return seqs;
}

Deno.test("sqlite acks: an ack deletes its delivery; the client's newest ack is kept", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "relay.db");
  const store = openSqliteRelayStore(path, { checkpoint: false });
  try {
    const seqs = await queue(store, ["msg_1", "msg_2", "msg_3"]);
    const acks = await Promise.all([
      store.ackDelivery("bob", seqs[0]!, 2000),
      store.ackDelivery("bob", seqs[1]!, 2002),
      store.ackDelivery("bob", 999_999, 2005),
    ]);
    assertEquals(acks.map((a) => a.acked), [true, true, false]);
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      const all = (sql: string) => db.prepare(sql).all().map((r) => ({ ...r }));
      const bobs = all("SELECT seq, state FROM deliveries WHERE client_id = 'bob'");
      assertEquals(bobs, [{ seq: seqs[2]!, state: "pending" }], "acked rows are gone");
      assertEquals(all("SELECT * FROM client_acks"), [
        { client_id: "bob", acked_at: 2002 },
      ]);
    } finally {
      db.close();
    }
    // An older ack batch does not move it back.
    await store.ackDelivery("bob", seqs[2]!, 1500);
    assertEquals((await store.clientsLastSeen()).get("bob"), 2002);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite acks: a batch that throws is run again ack by ack; only the bad one fails", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "relay.db");
  const store = openSqliteRelayStore(path, { checkpoint: false });
  try {
    const seqs = await queue(store, ["msg_1", "msg_2", "msg_3"]);
    // Another connection makes msg_2's receipt insert fail (as a full disk might).
    const other = new DatabaseSync(path);
    other.exec(`CREATE TRIGGER no_receipt BEFORE INSERT ON deliveries
      WHEN NEW.kind = 'receipt' AND NEW.envelope_id = 'msg_2'
      BEGIN SELECT RAISE(ABORT, 'no receipt for msg_2'); END`);
    other.close();
    const [a, b, c] = [
      store.ackDelivery("bob", seqs[0]!, 2000),
      store.ackDelivery("bob", seqs[1]!, 2000),
      store.ackDelivery("bob", seqs[2]!, 2000),
    ];
    assertEquals((await a).acked, true);
    const err = await assertRejects(() => b);
    assertEquals(/no receipt for msg_2/.test(String(err)), true);
    assertEquals((await c).acked, true);
    // msg_2's delivery was not marked done without its receipt; the others' receipts are queued.
    const bobs = await store.pendingDeliveries("bob", 0, 10);
    assertEquals(bobs.map((d) => d.envelope_id), ["msg_2"]);
    const alices = await store.pendingDeliveries("alice", 0, 10);
    assertEquals(alices.map((d) => JSON.parse(d.body).id), ["msg_1", "msg_3"]);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
