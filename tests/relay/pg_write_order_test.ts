/**
 * One PostgreSQL node's statements that insert deliveries commit in seq order
 * (lib/relay/store/write_lane.ts). A delivery's seq is taken at insert, and a pump reads
 * `seq > cursor`: a receipt for bob (from alice's ack) committed while alice's message to bob,
 * with a lower seq, was still being written let bob's pump move past the message, which then
 * came only from the gap check, after the rows that followed it (the multi-node test saw this
 * about twice in 25 runs). Here the group's write is held open before its COMMIT, at a
 * controlled step, while the ack is asked for.
 */
import postgres from "postgres";
import { setImmediate } from "node:timers";
import { assertEquals } from "../assert.ts";
import { ACK_SQL } from "../../lib/relay/store/pg_acks.ts";
import { openPgRelayStore, PgRelayStore } from "../../lib/relay/pg_store.ts";
import type { EnvelopeRow } from "../../lib/relay/store.ts";
import { postgresBin, startPostgres } from "./pg.ts";

const ignore = !postgresBin() && Deno.env.get("CI") !== "true";

function envelope(id: string, sender: string, from: string, to: string): EnvelopeRow {
  return {
    id,
    sender_client: sender,
    from,
    to: [to],
    type: "message",
    body: JSON.stringify({ id }),
    accepted_at: Date.now(),
  };
}

Deno.test({
  name: "postgres: a receipt asked for while a group's write is open commits after it",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const pg = await startPostgres();
    const db = await pg.createDatabase("write_order");
    await (await openPgRelayStore(db)).close(); // the schema
    const real = postgres(db, { max: 4, onnotice: () => {} });
    const control = postgres(db, { max: 1, onnotice: () => {} });
    const gate = Promise.withResolvers<void>();
    const held = Promise.withResolvers<void>();
    let ackIssued = false;
    // The pool as the store sees it: the group's write runs, then waits for `gate` before its
    // COMMIT (in a transaction: what its autocommit statement does, with a step between).
    const pool = new Proxy(real, {
      get(target, key, receiver) {
        if (key !== "unsafe") return Reflect.get(target, key, receiver);
        return (text: string, params: string[], opts: { prepare: boolean }) => {
          if (text === ACK_SQL) ackIssued = true;
          if (!text.includes("tf_accept_group_v5")) return target.unsafe(text, params, opts);
          return target.begin(async (t) => {
            const rows = await t.unsafe(text, params, opts);
            held.resolve();
            await gate.promise;
            return rows;
          });
        };
      },
    });
    const store = new PgRelayStore(pool, control);
    try {
      // bob's message to alice, pending for alice: alice's ack owes bob a receipt.
      await store.acceptEnvelope(envelope("msg_b1", "bob", "@bob/a", "@alice/a"), ["alice"], {});
      const [toAlice] = await store.pendingDeliveries("alice", 0, 10);
      // alice's message to bob: its group's write takes bob's delivery seq, and waits.
      const e = envelope("msg_a1", "alice", "@alice/a", "@bob/a");
      const grouped = store.grouped(async (s) => {
        await s.insertEnvelope(e);
        return await s.queueEnvelope(e, ["bob"], {});
      }, () => {});
      await held.promise;
      // alice acks bob's message; what bob's pump would read once the ack is done.
      const seen = store.ackDelivery("alice", toAlice!.seq, Date.now())
        .then(() => store.pendingDeliveries("bob", 0, 10));
      // A few turns: the ack batch reaches the pool in the first, unless something holds it.
      for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
      // It did not wait for the group's write: the read ran before that COMMIT.
      if (ackIssued) await seen;
      gate.resolve();
      await grouped;
      const queued = await store.pendingDeliveries("bob", 0, 10);
      assertEquals(queued.map((r) => r.kind), ["envelope", "receipt"]);
      assertEquals(
        (await seen).map((r) => r.seq),
        queued.map((r) => r.seq),
        "a read that sees the receipt sees the message queued before it",
      );
    } finally {
      gate.resolve();
      await store.close();
      await real.end({ timeout: 1 });
      await control.end({ timeout: 1 });
      await pg.stop();
    }
  },
});
