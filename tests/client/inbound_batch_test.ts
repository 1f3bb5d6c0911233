/**
 * Group commit on the daemon's inbound path (issue 21, third pass): the deliveries the link
 * received while the previous batch was stored are verified and opened together, applied in
 * arrival order in one transaction and acked only after its COMMIT. Checked from a second
 * SQLite connection, which sees only what is committed: a poison envelope and a forgery are
 * recorded alone, a transient error keeps what precedes it and leaves it and what follows
 * unacked, and a crash before the COMMIT stores nothing and the redelivery is applied once.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { decodeBase64Url, type Envelope, newId, sealEnvelope } from "../../lib/protocol/mod.ts";
import { LinkDeliveries } from "../../lib/client/link_deliveries.ts";
import type { BatchResult, Delivery } from "../../lib/client/inbound.ts";
import { all } from "../../lib/store/mod.ts";
import { ALICE, BOB } from "./helpers.ts";
import { startWorld, type World } from "./world.ts";

/** Messages from alice to bob in one conversation, sealed as her daemon would. */
async function fromAlice(w: World, texts: string[]): Promise<Envelope[]> {
  const keys = await w.alice.running.daemon.keyring.keysOf(ALICE);
  const bob = (await w.bob.api.agents())[0]!;
  const conversation_id = newId("conv");
  const out: Envelope[] = [];
  for (const text of texts) {
    out.push(
      await sealEnvelope(
        {
          v: 1,
          id: newId("msg"),
          type: "message",
          from: ALICE,
          to: [BOB],
          conversation_id,
          created_at: new Date().toISOString(),
          device_id: newId("dev"),
        },
        { text },
        { handle: ALICE, signingPrivateKey: keys.signing.privateKey },
        [{ handle: BOB, encryptionPublicKey: decodeBase64Url(bob.encryption_public_key) }],
      ),
    );
  }
  return out;
}

/** Bob's database as another process sees it: only what is committed. */
function committedView(w: World) {
  const reader = new DatabaseSync(join(w.bob.home, "client.db"), { readOnly: true });
  const rows = (sql: string, ...ids: string[]) =>
    all<{ id: string }>(reader, sql, ...ids).map((r) => r.id);
  return {
    /** Inbox ids of `ids`, in inbox order. */
    inbox: (ids: string[]) =>
      rows(
        `SELECT message_id AS id FROM inbox WHERE message_id IN (${
          ids.map(() => "?").join(",")
        }) ORDER BY seq`,
        ...ids,
      ),
    rejected: () => rows("SELECT id FROM messages WHERE state = 'rejected'"),
    quarantined: () => rows("SELECT id FROM quarantine"),
    close: () => reader.close(),
  };
}

/**
 * The outermost transactions (commits, numbered) in which bob stored inbox rows while `fn` ran.
 * Only those: a live daemon may commit other things meanwhile (receipts, presence).
 */
async function inboxCommitsDuring<T>(w: World, fn: () => Promise<T>): Promise<[T, number]> {
  const store = w.bob.running.daemon.store;
  const original = store.transaction;
  const add = store.inbox.add;
  let count = 0;
  let current = 0;
  const used = new Set<number>();
  store.transaction = <R>(f: () => R): R => {
    if (!store.db.isTransaction) current = ++count;
    return original.call(store, f) as R;
  };
  store.inbox.add = (...args: Parameters<typeof add>) => {
    used.add(current);
    return add.apply(store.inbox, args);
  };
  try {
    return [await fn(), used.size];
  } finally {
    store.transaction = original;
    store.inbox.add = add;
  }
}

const batch = (envelopes: unknown[]): Delivery[] =>
  envelopes.map((envelope, i) => ({ seq: i + 1, envelope }));

Deno.test("inbound batch: one commit; order kept; a poison envelope and a forgery are recorded alone; events after the commit", async () => {
  const w = await startWorld();
  const view = committedView(w);
  try {
    const bob = w.bob.running.daemon;
    const [m1, m2, poison, m3] = await fromAlice(w, ["one", "two", "poison", "three"]);
    const forged = { ...(await fromAlice(w, ["forged"]))[0]!, sig: m1!.sig };
    // Applying `poison` throws a bug-like error: it must be stored as rejected, alone.
    const add = bob.store.inbox.add.bind(bob.store.inbox);
    bob.store.inbox.add = (agent, id) => {
      if (id === poison!.id) throw new TypeError("a bug while applying");
      add(agent, id);
    };
    // Every inbox event must see its row already committed.
    const ids = [m1!.id, m2!.id, m3!.id];
    const seenAtEvent: string[][] = [];
    const unsubscribe = bob.events.subscribe((e) => {
      if (e.type === "inbox") seenAtEvent.push(view.inbox(ids));
    });
    const [result, commits] = await inboxCommitsDuring(
      w,
      () => bob.inbound.deliverBatch(batch([m1, m2, poison, { junk: true }, forged, m3, m1])),
    );
    unsubscribe();
    assertEquals(result, { stored: 7 });
    assertEquals(commits, 1, "the batch's envelopes share one commit");
    assertEquals(view.inbox(ids), ids, "arrival order");
    assert(view.rejected().includes(poison!.id), "the poison envelope is kept as rejected");
    assert(view.quarantined().includes(forged.id), "the forgery is quarantined");
    assertEquals(view.quarantined().length, 2, "the junk is quarantined too");
    assertEquals(seenAtEvent, [ids, ids, ids], "events only after the commit");
    // The duplicate of m1 in the same batch was applied once.
    assertEquals(
      (await w.bob.api.inbox({ agent: BOB })).items.filter((m) => m.id === m1!.id).length,
      1,
    );
  } finally {
    view.close();
    await w.close();
  }
});

Deno.test("inbound batch: a transient error keeps what precedes it; it and what follows come again, in order", async () => {
  const w = await startWorld();
  const view = committedView(w);
  try {
    const bob = w.bob.running.daemon;
    const ms = await fromAlice(w, ["a", "b", "c", "d", "e"]);
    const ids = ms.map((m) => m.id);
    const insert = bob.store.messages.insert.bind(bob.store.messages);
    let locked = true;
    bob.store.messages.insert = (...args: Parameters<typeof insert>) => {
      if (args[0].id === ids[2] && locked) {
        throw Object.assign(new Error("database is locked"), { errcode: 5 });
      }
      return insert(...args);
    };
    const first = await bob.inbound.deliverBatch(batch(ms));
    assertEquals(first.stored, 2);
    assertEquals(String((first.error as Error).message), "database is locked");
    assertEquals(view.inbox(ids), ids.slice(0, 2), "c, d and e are not stored");
    assertEquals((await w.bob.api.health()).inbound.stuck.map((s) => s.id), [ids[2]]);
    locked = false;
    assertEquals(await bob.inbound.deliverBatch(batch(ms.slice(2))), { stored: 3 });
    assertEquals(view.inbox(ids), ids);
    assertEquals((await w.bob.api.health()).inbound.stuck, []);
  } finally {
    view.close();
    await w.close();
  }
});

Deno.test("inbound batch: a crash before the commit stores nothing; the redelivered batch is applied once", async () => {
  const w = await startWorld();
  const view = committedView(w);
  try {
    const bob = w.bob.running.daemon;
    const ms = await fromAlice(w, ["x", "y", "z"]);
    const ids = ms.map((m) => m.id);
    const store = bob.store;
    const original = store.transaction;
    // The batch's writes all run, then the process "dies" before COMMIT: rolled back.
    store.transaction = <R>(f: () => R): R =>
      store.db.isTransaction ? original.call(store, f) as R : original.call(store, () => {
        f();
        throw Object.assign(new Error("disk I/O error"), { errcode: 10 });
      }) as R;
    const events: string[] = [];
    const unsubscribe = bob.events.subscribe((e) => void events.push(e.type));
    const crashed = await bob.inbound.deliverBatch(batch(ms));
    unsubscribe();
    store.transaction = original;
    assertEquals(crashed.stored, 0);
    assertEquals(view.inbox(ids), []);
    assertEquals(events, [], "nothing rolled back is announced");
    assertEquals(await bob.inbound.deliverBatch(batch([...ms, ms[0]])), { stored: 4 });
    assertEquals(view.inbox(ids), ids);
  } finally {
    view.close();
    await w.close();
  }
});

/** A socket as the link's delivery side sees it: what it sent, and whether it was closed. */
function fakeSocket() {
  const sent: string[] = [];
  const ws = {
    readyState: WebSocket.OPEN as number,
    send: (text: string) => void sent.push(text),
    close: () => void (ws.readyState = WebSocket.CLOSED),
  };
  return { ws: ws as unknown as WebSocket, sent, isOpen: () => ws.readyState === WebSocket.OPEN };
}

Deno.test("link deliveries: what waits joins one batch; acks only after the host stored them; a partial batch reconnects", async () => {
  const batches: number[][] = [];
  const gates: PromiseWithResolvers<BatchResult>[] = [];
  const deliveries = new LinkDeliveries({
    deliver: (items) => {
      batches.push(items.map((i) => i.seq));
      const gate = Promise.withResolvers<BatchResult>();
      gates.push(gate);
      return gate.promise;
    },
  });
  const { ws, sent, isOpen } = fakeSocket();
  deliveries.add(ws, 1, {});
  await Promise.resolve();
  deliveries.add(ws, 2, {}); // arrive while batch [1] is being stored
  deliveries.add(ws, 3, {});
  await Promise.resolve();
  assertEquals(batches, [[1]]);
  assertEquals(sent, [], "nothing acked before the host answered");
  gates[0]!.resolve({ stored: 1 });
  while (batches.length < 2) await new Promise((r) => setTimeout(r, 0));
  assertEquals(sent, ['{"type":"ack","seq":1}']);
  assertEquals(batches, [[1], [2, 3]]);
  // Only the first of [2, 3] stored: it is acked, 3 is not, and the socket is closed.
  gates[1]!.resolve({ stored: 1, error: new Error("database is locked") });
  await deliveries.idle();
  assertEquals(sent, ['{"type":"ack","seq":1}', '{"type":"ack","seq":2}']);
  assert(!isOpen(), "the link reconnects to get the rest again");
  assertEquals(deliveries.failures, 1);
});
