/**
 * An ack batch's work on PostgreSQL does not grow with the backlog of other clients
 * (lib/relay/store/pg_acks.ts). Without column statistics (a new database, or a table last
 * analyzed while empty) the planner guesses that 0.5% of deliveries are pending, so reading
 * the acked rows through a pending-only index looked cheap: the cluster benchmark's acks
 * scanned every pending delivery, once per batch or once per acked seq. The ack now reaches its
 * rows by primary key whatever the statistics say. Measured in rows and pages, not time; fails
 * on the old statement (20,400 entries scanned for 100 acks).
 */
import { assert, assertEquals } from "../assert.ts";
import { openPgRelayStore } from "../../lib/relay/pg_store.ts";
import { ACK_SQL } from "../../lib/relay/store/pg_acks.ts";
import { postgresBin, startPostgres } from "./pg.ts";

const ignore = !postgresBin() && Deno.env.get("CI") !== "true";

Deno.test({
  name: "pg acks: a batch scans as much behind a 20,000-delivery backlog, with no statistics",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startPostgres();
    const store = await openPgRelayStore(await server.createDatabase(`ack_plan_${Date.now()}`));
    try {
      const sql = store.sql;
      /** `n` pending receipts for `client`; returns their seqs. */
      const queue = async (client: string, n: number) =>
        (await sql`INSERT INTO deliveries (client_id, kind, envelope_id, body, created_at)
          SELECT ${client}, 'receipt', 'env_' || i, '{}', 1 FROM generate_series(1, ${n}) AS i
          RETURNING seq`).map((r) => Number(r.seq));
      /** Pages the ack of `seqs` reads, and b's deliveries it left (run, then rolled back). */
      const ackPages = async (seqs: number[]) => {
        const items = JSON.stringify(seqs.map((seq) => ["b", seq, 5]));
        let pages = 0;
        let entries = 0;
        let left = -1;
        await sql.begin(async (t) => {
          const [row] = await t.unsafe(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${ACK_SQL}`, [
            items,
          ]);
          const plan = (row!["QUERY PLAN"] as { Plan: PlanNode }[])[0]!.Plan;
          pages = plan["Shared Hit Blocks"]! + plan["Shared Read Blocks"]!;
          entries = scannedEntries(plan);
          const [count] = await t`SELECT count(*)::int AS n FROM deliveries WHERE client_id = 'b'`;
          left = count!.n;
          throw new RollBack();
        }).catch((err) => {
          if (!(err instanceof RollBack)) throw err;
        });
        return { pages, entries, left };
      };

      const z = await queue("z", 3000);
      await sql`VACUUM deliveries`;
      await sql`DELETE FROM deliveries WHERE client_id = 'z' AND seq < ${z[2900]!}`;
      const seqs = await queue("b", 100);
      const alone = await ackPages(seqs);
      assertEquals(alone.left, 0, "the batch acked every delivery");

      await queue("z", 20_000);
      await sql`VACUUM deliveries`;
      const [stats] = await sql`SELECT count(*)::int AS n FROM pg_stats
        WHERE tablename = 'deliveries'`;
      assertEquals(stats!.n, 0, "no column statistics: the planner guesses");
      const behind = await ackPages(seqs);
      assertEquals(behind.left, 0);
      assert(
        behind.entries <= 4 * seqs.length,
        `rows and index entries the ack's scans of deliveries returned: ${behind.entries}`,
      );
      assert(
        behind.pages <= alone.pages * 2 + 50,
        `pages read by a 100-ack batch: ${alone.pages} alone, ${behind.pages} behind 20,000`,
      );

      // And the store's own acks still ack each once.
      const results = await Promise.all(seqs.slice(0, 10).map((s) => store.ackDelivery("b", s, 7)));
      assertEquals(results.map((r) => r.acked), Array(10).fill(true));
      const again = await store.ackDelivery("b", seqs[0]!, 8);
      assertEquals(again.acked, false);
    } finally {
      await store.close();
      await server.stop();
    }
  },
});

/** A node of EXPLAIN's JSON plan, as far as this test reads it. */
interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Actual Rows": number;
  "Actual Loops": number;
  "Shared Hit Blocks": number;
  "Shared Read Blocks": number;
  Plans?: PlanNode[];
}

/**
 * Rows and index entries that the plan's scans of `deliveries` returned, over all their loops
 * (a bitmap index scan's entries have no relation name: its index names the table).
 */
function scannedEntries(node: PlanNode): number {
  const own = node["Node Type"].endsWith("Scan") &&
      (node["Relation Name"] === "deliveries" || node["Index Name"]?.startsWith("deliveries"))
    ? node["Actual Rows"] * node["Actual Loops"]
    : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + scannedEntries(child), 0);
}

/** Thrown to roll a measuring transaction back. */
class RollBack extends Error {}
