/**
 * PostgreSQL pump reads (lib/relay/store/pg_pending.ts): the pages of pending deliveries that
 * sessions ask for in one turn are read with one statement, each page the same as when read
 * alone (its client, after its seq, within its limit, in seq order).
 */
import { assertEquals } from "../assert.ts";
import { openPgRelayStore } from "../../lib/relay/pg_store.ts";
import { postgresBin, startPostgres } from "./pg.ts";

const ignore = !postgresBin() && Deno.env.get("CI") !== "true";

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
