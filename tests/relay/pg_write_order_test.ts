/**
 * Rows queued for one client on PostgreSQL commit in seq order (lib/relay/store/write_lane.ts).
 * A delivery's seq is taken at insert, and a pump reads `seq > cursor`: a receipt for bob (from
 * alice's ack) committed while alice's message to bob, with a lower seq, was still being
 * written let bob's pump move past the message, which then came only from the gap check, after
 * the rows that followed it (the multi-node test saw this about twice in 25 runs). Here the
 * group's write is held open before its COMMIT, at a controlled step, while the ack is asked
 * for on the same node, then on another node.
 */
import postgres from "postgres";
import { setImmediate } from "node:timers";
import { assertEquals } from "../assert.ts";
import { ACK_SQL } from "../../lib/relay/store/pg_acks.ts";
import { openPgRelayStore, PgRelayStore } from "../../lib/relay/pg_store.ts";
import type { DeliveryRow, EnvelopeRow } from "../../lib/relay/store.ts";
import { postgresBin, startPostgres, type TestPostgres } from "./pg.ts";
import { until } from "../wait.ts";

const ignore = !postgresBin() && Deno.env.get("CI") !== "true";
let server: TestPostgres | null = null;

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

/**
 * A node whose group write runs, then waits for `release` before its COMMIT (in a
 * transaction: what its autocommit statement does, with a step between).
 */
function gatedNode(db: string) {
  const real = postgres(db, { max: 4, onnotice: () => {} });
  const control = postgres(db, { max: 1, onnotice: () => {} });
  const gate = Promise.withResolvers<void>();
  const held = Promise.withResolvers<void>();
  let ackIssued = false;
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
  return {
    store: new PgRelayStore(pool, control),
    held: held.promise,
    release: () => gate.resolve(),
    ackIssued: () => ackIssued,
  };
}

/**
 * bob's message to alice is pending for alice (her ack owes bob a receipt); alice's message to
 * bob is written by `gated`'s group, held before its COMMIT; then alice acks on `acker`. Once
 * the ack is done, or waits (`waiting`), the COMMIT goes. Returns what bob's pump would have
 * read once the ack was done, and bob's queue at the end.
 */
async function ackDuringWrite(
  gated: ReturnType<typeof gatedNode>,
  acker: PgRelayStore,
  waiting: () => Promise<boolean>,
): Promise<{ seen: DeliveryRow[]; queued: DeliveryRow[] }> {
  await acker.acceptEnvelope(envelope("msg_b1", "bob", "@bob/a", "@alice/a"), ["alice"], {});
  const [toAlice] = await acker.pendingDeliveries("alice", 0, 10);
  const e = envelope("msg_a1", "alice", "@alice/a", "@bob/a");
  const grouped = gated.store.grouped(async (s) => {
    await s.insertEnvelope(e);
    return await s.queueEnvelope(e, ["bob"], {});
  }, () => {});
  await gated.held;
  let done = false;
  const seen = acker.ackDelivery("alice", toAlice!.seq, Date.now())
    .then(() => acker.pendingDeliveries("bob", 0, 10))
    .finally(() => done = true);
  await until("the ack done, or waiting for the write", async () => done || await waiting());
  gated.release();
  await grouped;
  const queued = await acker.pendingDeliveries("bob", 0, 10);
  assertEquals(queued.map((r) => r.kind), ["envelope", "receipt"]);
  return { seen: await seen, queued };
}

async function freshDb(name: string) {
  server ??= await startPostgres();
  const db = await server.createDatabase(`${name}_${Date.now()}`);
  await (await openPgRelayStore(db)).close(); // the schema
  return db;
}

/** True when a statement waits on an advisory lock (another's queue lock). */
async function lockWait(probe: postgres.Sql): Promise<boolean> {
  const [r] = await probe`SELECT count(*)::int AS n FROM pg_locks
    WHERE locktype = 'advisory' AND NOT granted`;
  return r!.n > 0;
}

Deno.test({
  name: "postgres: a receipt asked for while the same node's group write is open commits after it",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const db = await freshDb("order_one");
    const node = gatedNode(db);
    const probe = postgres(db, { max: 1, onnotice: () => {} });
    try {
      let turns = 0;
      const { seen, queued } = await ackDuringWrite(node, node.store, async () => {
        // The ack batch reaches the pool in its first turn unless something holds it.
        await new Promise((r) => setImmediate(r));
        return (!node.ackIssued() && ++turns >= 10) || await lockWait(probe);
      });
      assertEquals(
        seen.map((r) => r.seq),
        queued.map((r) => r.seq),
        "a read that sees the receipt sees the message queued before it",
      );
    } finally {
      node.release();
      await node.store.close();
      await probe.end({ timeout: 1 });
    }
  },
});

Deno.test({
  name:
    "postgres: a receipt asked for on another node while a group write is open commits after it",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const db = await freshDb("order_two");
    const node = gatedNode(db);
    const other = await openPgRelayStore(db);
    const probe = postgres(db, { max: 1, onnotice: () => {} });
    try {
      const { seen, queued } = await ackDuringWrite(node, other, () => lockWait(probe));
      assertEquals(
        seen.map((r) => r.seq),
        queued.map((r) => r.seq),
        "a read that sees the receipt sees the message queued before it",
      );
    } finally {
      node.release();
      await node.store.close();
      await other.close();
      await probe.end({ timeout: 1 });
    }
  },
});

Deno.test({
  name: "postgres write order: the test server stops",
  ignore,
  fn: async () => {
    await server?.stop();
    server = null;
  },
});
