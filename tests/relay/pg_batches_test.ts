/**
 * PostgreSQL pump reads (lib/relay/store/pg_pending.ts): the pages of pending deliveries that
 * sessions ask for in one turn are read with one statement, each page the same as when read
 * alone (its client, after its seq, within its limit, in seq order). Acks (store/pg_acks.ts):
 * a turn's acks in one statement, a receipt exactly for each delivery it marked, its body
 * byte for byte what the other stores write.
 */
import { assertEquals } from "../assert.ts";
import { openPgRelayStore, type PgRelayStore } from "../../lib/relay/pg_store.ts";
import { PgAcks } from "../../lib/relay/store/pg_acks.ts";
import { receiptFor } from "../../lib/relay/store/rules.ts";
import { postgresBin, startPostgres } from "./pg.ts";

const ignore = !postgresBin() && Deno.env.get("CI") !== "true";

/** Accepts `msg_<n>` from `@s/a` (client s) to each client in `to`. */
async function put(store: PgRelayStore, n: number, to: string[]) {
  await store.acceptEnvelope(
    {
      id: `msg_${n}`,
      sender_client: "s",
      from: "@s/a",
      to: to.map((c) => `@${c}/a`),
      type: "message",
      body: `{"n":${n}}`,
      accepted_at: 1000 + n,
    },
    [...new Set(to)],
    {},
  );
}

Deno.test({
  name: "postgres acks: a turn's acks in one statement, one receipt per delivery marked",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startPostgres();
    const store = await openPgRelayStore(await server.createDatabase(`acks_${Date.now()}`));
    try {
      for (let i = 0; i < 5; i++) await put(store, i, ["b", "c"]);
      const b = await store.pendingDeliveries("b", 0, 10);
      const c = await store.pendingDeliveries("c", 0, 10);
      await store.ackDelivery("b", b[4]!.seq, 1500);
      const before = store.acks.batches;
      const results = await Promise.all([
        store.ackDelivery("b", b[0]!.seq, 2000),
        store.ackDelivery("b", b[0]!.seq, 2000), // the same ack twice in one turn
        store.ackDelivery("c", b[1]!.seq, 2000), // not c's
        store.ackDelivery("b", b[4]!.seq, 2000), // acked already
        store.ackDelivery("c", c[2]!.seq, 2001),
        store.ackDelivery("b", 999_999, 2000),
      ]);
      assertEquals(store.acks.batches - before, 1);
      assertEquals(results.map((r) => r.acked), [true, false, false, false, true, false]);
      const receipts = await store.pendingDeliveries("s", 0, 100);
      assertEquals(receipts.map((r) => r.kind), ["receipt", "receipt", "receipt"]);
      assertEquals(receipts.map((r) => JSON.parse(r.body).id), ["msg_4", "msg_0", "msg_2"]);
      assertEquals(results[0]!.receipt?.seq, receipts[1]!.seq);
      assertEquals(results[4]!.receipt?.seq, receipts[2]!.seq);
      assertEquals(JSON.parse(results[4]!.receipt!.body).recipients, ["@c/a"]);
      assertEquals(results[0]!.accepted_at, 1000);
      // A receipt's own ack owes no receipt.
      assertEquals(await store.ackDelivery("s", receipts[0]!.seq, 3000), { acked: true });

      // The same delivery acked by two nodes at once: one ack, one receipt.
      const other = new PgAcks((text, params) => store.sql.unsafe(text, params as string[]));
      const both = await Promise.all([
        store.ackDelivery("b", b[3]!.seq, 4000),
        other.ack("b", b[3]!.seq, 4001),
      ]);
      assertEquals(both.filter((r) => r.acked).length, 1);
      const msg3 = (await store.pendingDeliveries("s", 0, 100))
        .filter((r) => JSON.parse(r.body).id === "msg_3");
      assertEquals(msg3.length, 1);

      // Bodies as receiptFor writes them: only the acking client's handles, `at` in ISO.
      await store.acceptEnvelope(
        {
          id: "msg_many",
          sender_client: "s",
          from: "@s/a",
          to: ["@b/x", "@c/a", "@b/y", "@bb/a"],
          type: "message",
          body: "{}",
          accepted_at: 1,
        },
        ["b", "c", "bb"],
        {},
      );
      const env = { recipients: JSON.stringify(["@b/x", "@c/a", "@b/y", "@bb/a"]) };
      for (
        const [client, now] of [["b", 1764471600007], ["c", 1764471599999], ["bb", 5]] as const
      ) {
        const row = (await store.pendingDeliveries(client, 0, 100))
          .find((d) => d.envelope_id === "msg_many");
        const r = await store.ackDelivery(client, row!.seq, now);
        const want = receiptFor(
          { ...env, sender_client: "s" },
          "msg_many",
          client,
          "delivered",
          now,
        );
        assertEquals(r.receipt?.body, want.body);
        const stored = (await store.pendingDeliveries("s", r.receipt!.seq - 1, 1))[0]!;
        assertEquals([stored.seq, stored.body], [r.receipt!.seq, want.body]);
      }
    } finally {
      await store.close();
      await server.stop();
    }
  },
});

Deno.test({
  name: "postgres pump: pages asked in one turn share one statement, each as if read alone",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startPostgres();
    const store = await openPgRelayStore(await server.createDatabase(`pump_${Date.now()}`));
    try {
      // Interleaved rows of three clients (seqs are global: each client's are not adjacent).
      for (let i = 0; i < 12; i++) {
        const to = [`c${i % 3}`, ...(i % 4 === 0 ? ["c1"] : [])];
        await store.acceptEnvelope(
          {
            id: `msg_${i}`,
            sender_client: "s",
            from: "@s/a",
            to: to.map((c) => `@${c}/a`),
            type: "message",
            body: `{"n":${i}}`,
            accepted_at: 1000 + i,
          },
          [...new Set(to)],
          {},
        );
      }
      await store.ackDelivery("c2", (await store.pendingDeliveries("c2", 0, 1))[0]!.seq, 5000);
      const asks: [string, number, number][] = [
        ["c0", 0, 10],
        ["c1", 0, 3],
        ["c2", 0, 10],
        ["c1", 0, 3],
        ["nobody", 0, 10],
      ];
      const alone = [];
      for (const a of asks) alone.push(await store.pendingDeliveries(...a));
      const c1 = alone[1]!;
      asks.push(["c1", c1[1]!.seq, 100]);
      alone.push(await store.pendingDeliveries("c1", c1[1]!.seq, 100));
      const before = store.pendingPages.reads;
      const together = await Promise.all(asks.map((a) => store.pendingDeliveries(...a)));
      assertEquals(store.pendingPages.reads - before, 1);
      assertEquals(together, alone);
      assertEquals(alone[0]!.map((r) => r.body), [0, 3, 6, 9].map((n) => `{"n":${n}}`));
      assertEquals(c1.map((r) => r.envelope_id), ["msg_0", "msg_1", "msg_4"]);
      assertEquals(alone[2]!.length, 3, "the acked row is not pending");
      assertEquals(alone[4], []);
      assertEquals(alone[5]!.map((r) => r.envelope_id), ["msg_4", "msg_7", "msg_8", "msg_10"]);
    } finally {
      await store.close();
      await server.stop();
    }
  },
});
