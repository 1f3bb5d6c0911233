/**
 * Group commit on the daemon's send path (issue 21 item 4): envelopes sealed in the same turn
 * share one commit, and other writes of that turn (`commitWith`: idempotency answers, the
 * relay's `accepted` answers and receipts) join it. Checked from
 * a second SQLite connection, which sees only what is committed: every `send` that resolved
 * (what the HTTP answer waits for) is already durable with its outbox row, a send whose
 * effects throw fails alone and leaves nothing behind, and everything arrives in send order.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { setImmediate } from "node:timers";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { TurnBatch } from "../../lib/client/turn_batch.ts";
import { get } from "../../lib/store/mod.ts";
import { ALICE, BOB, wholeInbox } from "./helpers.ts";
import { eventually, startWorld } from "./world.ts";

Deno.test("turn batch: one turn's items are one batch; `more` waits one turn, not longer", async () => {
  const batches: number[][] = [];
  const now = new TurnBatch<number>((items) => batches.push(items));
  now.add(1);
  now.add(2);
  await Promise.resolve();
  assertEquals(batches, [[1, 2]]);

  let more = true;
  const later = new TurnBatch<number>((items) => batches.push(items), () => more);
  later.add(3);
  await Promise.resolve();
  later.add(4); // a send whose seal finished a moment later joins the same batch
  more = true; // still "more coming": the batch must not wait past the next turn
  // The next turn: an immediate queued after the batch's own runs after it. (A 0 ms timeout
  // is not ordered against immediates: under load it fired first, and this test failed.)
  await new Promise((r) => setImmediate(r));
  assertEquals(batches, [[1, 2], [3, 4]]);
});

Deno.test("group commit: a resolved send is durable, a failing one fails alone, order holds", async () => {
  const w = await startWorld();
  const reader = new DatabaseSync(join(w.alice.home, "client.db"), { readOnly: true });
  try {
    const d = w.alice.running.daemon;
    const committed = (id: string) =>
      get<{ n: number }>(
        reader,
        `SELECT (SELECT count(*) FROM outbox WHERE id = ?) +
                (SELECT count(*) FROM messages WHERE id = ? AND direction = 'out') AS n`,
        id,
        id,
      )?.n ?? 0;
    const durableAtResolve: number[] = [];
    const refuse = () => {
      throw new Error("effects refused");
    };
    const sends = Array.from({ length: 40 }, (_, i) =>
      d.outbox.send({
        from: ALICE,
        to: [BOB],
        type: "message",
        payload: { text: `burst ${i}` },
        ...(i === 17 ? { effects: refuse } : {}),
      }).then((r) => {
        durableAtResolve.push(committed(r.id));
        return r;
      }));
    assertEquals((await assertRejects(() => sends[17]!)).message, "effects refused");
    const sent = (await Promise.allSettled(sends)).flatMap((r) =>
      r.status === "fulfilled" ? [r.value] : []
    );
    assertEquals(sent.length, 39);
    // Message row + outbox row, both visible to another connection when `send` resolved.
    assertEquals(durableAtResolve, Array(39).fill(2));
    assertEquals(
      get<{ n: number }>(
        reader,
        "SELECT count(*) AS n FROM messages WHERE payload LIKE '%burst 17%'",
      )
        ?.n,
      0,
    );

    // Sequential sends keep their order end to end (outbox seq, then bob's inbox).
    const ordered = [];
    for (let i = 0; i < 5; i++) {
      ordered.push(
        (await d.outbox.send({
          from: ALICE,
          to: [BOB],
          type: "message",
          payload: { text: `ordered ${i}` },
        })).id,
      );
    }
    const inbox = await eventually(async () => {
      const items = await wholeInbox(w.bob, BOB);
      return items.filter((m) => m.type === "message").length >= 44 ? items : null;
    });
    const texts = inbox.map((m) => (m.payload as { text?: string }).text ?? "");
    assertEquals(
      texts.filter((t) => t.startsWith("ordered")),
      [0, 1, 2, 3, 4].map((i) => `ordered ${i}`),
    );
    assert(!texts.includes("burst 17"));
    // Every accepted answer was recorded (they are applied in batches).
    await eventually(() =>
      Promise.resolve(
        get<{ n: number }>(reader, "SELECT count(*) AS n FROM outbox WHERE state = 'pending'")
          ?.n ===
          0,
      )
    );
  } finally {
    reader.close();
    await w.close();
  }
});

Deno.test("group commit: other writes (commitWith) share it, resolve when durable, fail alone", async () => {
  const w = await startWorld();
  const reader = new DatabaseSync(join(w.alice.home, "client.db"), { readOnly: true });
  try {
    const d = w.alice.running.daemon;
    let commits = 0;
    const transaction = d.store.transaction.bind(d.store);
    d.store.transaction = <T>(fn: () => T): T => {
      if (!d.store.db.isTransaction) commits++;
      return transaction(fn);
    };
    const row = (key: string) => ({
      scope: "owner",
      key,
      fingerprint: "f",
      streamed: false,
      status: 200,
      content_type: null,
      body: "{}",
      created_at: d.now(),
    });
    const stored = (key: string) =>
      get<{ n: number }>(reader, "SELECT count(*) AS n FROM idempotency_keys WHERE key = ?", key)
        ?.n;
    const visible: (number | undefined)[] = [];
    const writes = ["k1", "k2", "k3"].map((key) =>
      d.outbox.commitWith(() => {
        if (key === "k2") throw new Error("write refused");
        d.store.idempotency.put(row(key));
      }).then(() => visible.push(stored(key)))
    );
    const send = d.outbox.send({ from: ALICE, to: [BOB], type: "message", payload: { text: "x" } });
    assertEquals((await assertRejects(() => writes[1]!)).message, "write refused");
    await Promise.allSettled(writes);
    const atWrites = commits;
    await send;
    assertEquals(visible, [1, 1], "each resolved write was committed");
    assertEquals(stored("k2"), 0);
    assertEquals(atWrites, 1, "the writes of one turn (and a send sealed by then) share a commit");
  } finally {
    reader.close();
    await w.close();
  }
});
