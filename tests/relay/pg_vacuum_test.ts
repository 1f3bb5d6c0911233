/**
 * A PostgreSQL node vacuums the tables it churns (lib/relay/store/pg_vacuum.ts): `rate_windows`
 * and `client_acks` after it wrote them, `deliveries` only after deleting enough of its rows,
 * never two vacuums at once, a failure logged and the next look tried again; on a real server
 * the dead row versions of acks are gone after one look.
 */
import { assert, assertEquals } from "../assert.ts";
import { openPgRelayStore } from "../../lib/relay/pg_store.ts";
import { DELIVERIES_DEAD_ROWS, PgVacuum } from "../../lib/relay/store/pg_vacuum.ts";
import { postgresBin, startPostgres } from "./pg.ts";
import { until } from "../wait.ts";

const ignore = !postgresBin() && Deno.env.get("CI") !== "true";

Deno.test("pg vacuum: what was written, when it was, one at a time; a failure is tried again", async () => {
  const ran: string[] = [];
  let writes = 0;
  let deleted = 0;
  let reltuples = 0;
  let fail = false;
  let hold: PromiseWithResolvers<void> | null = null;
  const vacuum = new PgVacuum(async (text) => {
    ran.push(text);
    if (hold) await hold.promise;
    if (fail) throw new Error("connection lost");
    return text.startsWith("SELECT reltuples") ? [{ reltuples }] : [];
  }, { writes: () => writes, deleted: () => deleted });

  await vacuum.tick();
  assertEquals(ran, [], "nothing written, nothing vacuumed");
  writes = 3;
  deleted = DELIVERIES_DEAD_ROWS - 1;
  await vacuum.tick();
  assertEquals(ran, ["VACUUM (SKIP_LOCKED) rate_windows, client_acks"]);
  await vacuum.tick();
  assertEquals(ran.length, 1, "nothing new since");

  // Enough deleted deliveries: that table too, then its size sets the next threshold.
  deleted = DELIVERIES_DEAD_ROWS;
  reltuples = 200_000;
  ran.length = 0;
  await vacuum.tick();
  assertEquals(ran, [
    "VACUUM (SKIP_LOCKED) deliveries",
    "SELECT reltuples FROM pg_class WHERE oid = 'deliveries'::regclass",
  ]);
  deleted += 19_999;
  ran.length = 0;
  await vacuum.tick();
  assertEquals(ran, [], "a tenth of a 200,000-row table is 20,000");
  deleted += 1;
  await vacuum.tick();
  assertEquals(ran[0], "VACUUM (SKIP_LOCKED) deliveries");

  // One at a time: a look while a vacuum runs does nothing.
  writes++;
  ran.length = 0;
  hold = Promise.withResolvers<void>();
  const first = vacuum.tick();
  writes++;
  await vacuum.tick();
  hold.resolve();
  await first;
  hold = null;
  assertEquals(ran, ["VACUUM (SKIP_LOCKED) rate_windows, client_acks"]);

  // A failed vacuum is logged; the next write is looked at again.
  fail = true;
  writes++;
  await vacuum.tick();
  fail = false;
  const count = vacuum.vacuums;
  writes++;
  await vacuum.tick();
  assertEquals(vacuum.vacuums, count + 1);
});

Deno.test({
  name: "pg vacuum: a node's acks leave no dead row versions behind once it looks",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startPostgres();
    const store = await openPgRelayStore(await server.createDatabase(`vacuum_${Date.now()}`));
    try {
      const sql = store.sql;
      for (let n = 0; n < 40; n++) {
        await store.acceptEnvelope(
          {
            id: `msg_${n}`,
            sender_client: "s",
            from: "@s/a",
            to: ["@b/a"],
            type: "message",
            body: `{"n":${n}}`,
            accepted_at: 1000 + n,
          },
          ["b"],
          {},
        );
      }
      // Acked one by one: each ack batch updates b's client_acks row again.
      for (const d of await store.pendingDeliveries("b", 0, 100)) {
        await store.ackDelivery("b", d.seq, 2000 + d.seq);
      }
      const dead = async () => {
        await sql`SELECT pg_stat_clear_snapshot()`;
        const [row] = await sql`SELECT n_dead_tup, vacuum_count FROM pg_stat_user_tables
          WHERE relname = 'client_acks'`;
        return { dead: Number(row!.n_dead_tup), vacuums: Number(row!.vacuum_count) };
      };
      const before = await until("the acks' dead versions counted", async () => {
        const d = await dead();
        return d.dead > 0 ? d : null;
      });
      await store.vacuum.tick();
      assertEquals(store.vacuum.vacuums, 1);
      const after = await until("the vacuum counted", async () => {
        const d = await dead();
        return d.vacuums > before.vacuums ? d : null;
      });
      assertEquals(after.dead, 0);
      assert(store.acks.deleted >= 40, "the acks deleted their deliveries");
    } finally {
      await store.close();
      await server.stop();
    }
  },
});
