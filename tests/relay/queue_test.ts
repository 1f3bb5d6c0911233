/**
 * The durable delivery queue (design §7): offline recipients, ordered redelivery without a
 * per-reconnect cap, retries, `resume`, durable receipts, multi-recipient fan-out, retention
 * and pruning.
 */
import { assert, assertEquals } from "../assert.ts";
import type { Envelope, RelayFrame, RelayReceipt } from "../../lib/protocol/mod.ts";
import {
  connectAgents,
  connectedPair,
  envelopeId,
  registerAgent,
  seal,
  setPermissions,
  type SimAgent,
  SimSession,
  takeDeliveries,
  type TestRelay,
  withRelay,
} from "./sim.ts";

/** A connected pair, with a generous link rate and the connection deliveries drained. */
async function setup(relay: TestRelay) {
  const pair = await connectedPair(relay);
  const fast = await setPermissions(relay, pair.bobToken, pair.bob, pair.alice, {
    max_rate_per_minute: 100_000,
  });
  assertEquals(fast.status, 200);
  const [request] = await takeDeliveries(pair.b, 1, { ack: true });
  await receiptFor(pair.a, request!.id, true);
  const [accept] = await takeDeliveries(pair.a, 1, { ack: true });
  await receiptFor(pair.b, accept!.id, true);
  await flush(pair.a);
  await flush(pair.b);
  return { relay, ...pair };
}

/** Seals `n` messages alice → bob and sends them pipelined; all must be accepted, in order. */
async function sendMany(
  from: SimAgent,
  session: SimSession,
  to: SimAgent[],
  n: number,
): Promise<string[]> {
  const envs: Envelope[] = [];
  for (let i = 0; i < n; i++) {
    envs.push(await seal(from, to, "message", { text: `m${i}` }, { device_id: session.deviceId }));
  }
  const answers = await Promise.all(envs.map((e) => session.send(e)));
  for (const a of answers) assertEquals(a.type, "accepted", JSON.stringify(a));
  return envs.map((e) => e.id);
}

/** Waits until every frame `session` sent before this call has been handled by the relay. */
async function flush(session: SimSession) {
  session.raw({ type: "ping" });
  await session.next((f) => f.type === "pong");
}

function isReceiptFor(id: string) {
  return (f: RelayFrame): f is RelayFrame & { type: "receipt" } =>
    f.type === "receipt" && f.receipt.id === id;
}

/** The next receipt for envelope `id` on `session`, acked when `ack` is set. */
async function receiptFor(session: SimSession, id: string, ack = false): Promise<RelayReceipt> {
  const f = await session.next(isReceiptFor(id));
  assert(f.type === "receipt");
  if (ack) session.raw({ type: "ack", seq: f.seq });
  return f.receipt;
}

/** Asserts no frame matching `match` has arrived on `session` (after a {@link flush}). */
function assertNone(session: SimSession, match: (f: RelayFrame) => boolean) {
  assert(!session.frames.some(match), `unexpected frame: ${JSON.stringify(session.frames)}`);
}

Deno.test("queue: an offline recipient receives all 100 messages in order on connect", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    c.b.close();
    await c.b.closed;
    const ids = await sendMany(c.alice, c.a, [c.bob], 100);
    assertEquals((await relay.relay.store.stats()).pending_deliveries >= 100, true);
    const b2 = await SimSession.connect(relay, "bob", c.bobToken);
    const got = await takeDeliveries(b2, 100, { ack: true });
    assertEquals(got.map((g) => g.id), ids);
    for (let i = 1; i < got.length; i++) assert(got[i]!.seq > got[i - 1]!.seq, "seq ascends");
    // Every one is reported delivered to the sender.
    for (const id of ids) {
      const r = await receiptFor(c.a, id);
      assertEquals(r.state, "delivered");
      assertEquals(r.recipients, [c.bob.handle]);
    }
  });
});

Deno.test("queue: an unacked delivery is retried with the same seq until acked", async () => {
  await withRelay({ retryBaseMs: 50 }, async (relay) => {
    const c = await setup(relay);
    const [id] = await sendMany(c.alice, c.a, [c.bob], 1);
    const first = await c.b.next((f) => f.type === "deliver");
    assertEquals(envelopeId(first), id);
    assert(first.type === "deliver");
    // No ack: the relay sends it again, same seq, same envelope.
    const again = await c.b.next((f) => f.type === "deliver");
    assert(again.type === "deliver");
    assertEquals(again.seq, first.seq);
    assertEquals(again.envelope, first.envelope);
    const [row] = await relay.relay.store.pendingDeliveries("bob", first.seq - 1, 1);
    assertEquals(row?.seq, first.seq);
    assert(row!.attempts >= 1, "the attempt is recorded for backoff");
    c.b.raw({ type: "ack", seq: first.seq });
    assertEquals((await receiptFor(c.a, id!, true)).state, "delivered");
    await flush(c.a);
    // Acked: nothing is pending for bob any more, so no retry can be scheduled (retries are
    // driven by pending rows) — a fact to check, not a quiet period to wait out.
    c.b.frames.length = 0;
    c.a.frames.length = 0;
    assertEquals(await relay.relay.store.pendingDeliveries("bob", 0, 10), []);
    // Acking twice is harmless and yields no second receipt: the relay answers frames in order,
    // so a receipt caused by the second ack would reach alice before her pong.
    c.b.raw({ type: "ack", seq: first.seq });
    await flush(c.b);
    await flush(c.a);
    assertNone(c.a, isReceiptFor(id!));
  });
});

Deno.test("queue: reconnecting redelivers every unacked envelope in order, beyond the window", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const ids = await sendMany(c.alice, c.a, [c.bob], 600);
    // bob stores nothing: he receives a window's worth and never acks.
    const seen = await takeDeliveries(c.b, 512);
    assertEquals(seen.map((s) => s.id), ids.slice(0, 512));
    c.b.close();
    await c.b.closed;
    const b2 = await SimSession.connect(relay, "bob", c.bobToken);
    const got = await takeDeliveries(b2, 600, { ack: true });
    assertEquals(got.map((g) => g.id), ids);
    assertEquals(got.slice(0, 512).map((g) => g.seq), seen.map((s) => s.seq), "same seqs");
    await flush(b2);
    assertEquals((await relay.relay.store.pendingDeliveries("bob", 0, 10)).length, 0);
  });
});

Deno.test("queue: hello `resume` acks everything up to it — not redelivered, receipts sent", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    c.b.close();
    await c.b.closed;
    const ids = await sendMany(c.alice, c.a, [c.bob], 5);
    // bob's daemon receives and stores all five but the acks are lost with the connection.
    const b2 = await SimSession.connect(relay, "bob", c.bobToken);
    const first = await takeDeliveries(b2, 5);
    assertEquals(first.map((f) => f.id), ids);
    b2.close();
    await b2.closed;
    // On reconnect it says: I have everything up to the third.
    const b3 = await SimSession.connect(relay, "bob", c.bobToken, { resume: first[2]!.seq });
    const rest = await takeDeliveries(b3, 2, { ack: true });
    assertEquals(rest.map((r) => r.id), ids.slice(3), "the next deliveries are #4 and #5");
    // Nothing else was (re)delivered: the next delivery is a new message.
    const [fence] = await sendMany(c.alice, c.a, [c.bob], 1);
    const [next] = await takeDeliveries(b3, 1, { ack: true });
    assertEquals(next!.id, fence);
    // The sender learns that all five (and the fence) were delivered.
    for (const id of [...ids, fence!]) assertEquals((await receiptFor(c.a, id)).state, "delivered");
  });
});

Deno.test("queue: a receipt waits for an offline sender and arrives after reconnecting", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const [id] = await sendMany(c.alice, c.a, [c.bob], 1);
    c.a.close();
    await c.a.closed;
    const [d] = await takeDeliveries(c.b, 1, { ack: true });
    assertEquals(d!.id, id);
    await flush(c.b); // the ack has been handled: the receipt is queued for alice.
    assert(!relay.relay.isConnected("alice"));
    const queued = await relay.relay.store.pendingDeliveries("alice", 0, 100);
    assert(queued.some((r) => r.kind === "receipt" && r.envelope_id === id));
    const a2 = await SimSession.connect(relay, "alice", c.aliceToken);
    const f = await a2.next(isReceiptFor(id!));
    assert(f.type === "receipt");
    assertEquals(f.receipt.state, "delivered");
    assertEquals(f.receipt.recipients, [c.bob.handle]);
    a2.raw({ type: "ack", seq: f.seq });
    await flush(a2);
    const left = await relay.relay.store.pendingDeliveries("alice", 0, 100);
    assert(!left.some((r) => r.envelope_id === id), "an acked receipt is done");
  });
});

Deno.test("queue: a message to 3 agents on 2 clients → one delivery per client, receipts per client", async () => {
  await withRelay({}, async (relay) => {
    const aliceToken = await relay.addClient("alice");
    const bobToken = await relay.addClient("bob");
    const carolToken = await relay.addClient("carol");
    const alice = await registerAgent(relay, aliceToken, "alice", "sender");
    const bob1 = await registerAgent(relay, bobToken, "bob", "one", { public: true });
    const bob2 = await registerAgent(relay, bobToken, "bob", "two", { public: true });
    const carol = await registerAgent(relay, carolToken, "carol", "x", { public: true });
    const a = await SimSession.connect(relay, "alice", aliceToken, { autoAck: true });
    const b = await SimSession.connect(relay, "bob", bobToken);
    const k = await SimSession.connect(relay, "carol", carolToken);
    await connectAgents(alice, a, bob1, b);
    await connectAgents(alice, a, bob2, b);
    await connectAgents(alice, a, carol, k);
    // Drain the connection requests (two for bob's client, one for carol's).
    await takeDeliveries(b, 2, { ack: true });
    await takeDeliveries(k, 1, { ack: true });

    const [id] = await sendMany(alice, a, [bob1, bob2, carol], 1);
    const [fence] = await sendMany(alice, a, [bob1], 1);
    const bobGot = await takeDeliveries(b, 2, { ack: true });
    assertEquals(bobGot.map((g) => g.id), [id, fence], "one delivery for both of bob's agents");
    const [carolGot] = await takeDeliveries(k, 1, { ack: true });
    assertEquals(carolGot!.id, id);
    const receipts = [await receiptFor(a, id!), await receiptFor(a, id!)];
    const byRecipients = receipts.map((r) => r.recipients.join(",")).sort();
    assertEquals(byRecipients, [`${bob1.handle},${bob2.handle}`, carol.handle]);
    for (const r of receipts) assertEquals(r.state, "delivered");
  });
});

Deno.test("queue: past retention the sender gets a failed receipt (retention_expired)", async () => {
  await withRelay({ retentionMs: 1000 }, async (relay) => {
    const c = await setup(relay);
    c.b.close();
    await c.b.closed;
    const [id] = await sendMany(c.alice, c.a, [c.bob], 1);
    // Nothing happens while the envelope is young.
    await relay.relay.sweep(Date.now());
    assertEquals(await relay.relay.store.envelopeExists(id!), true);
    await relay.relay.sweep(Date.now() + 5000);
    const r = await receiptFor(c.a, id!);
    assertEquals(r.state, "failed");
    assertEquals(r.reason, "retention_expired");
    assertEquals(r.recipients, [c.bob.handle]);
    // bob, back online, is not handed the expired envelope: his next delivery is a new one.
    const b2 = await SimSession.connect(relay, "bob", c.bobToken);
    const [fence] = await sendMany(c.alice, c.a, [c.bob], 1);
    const [next] = await takeDeliveries(b2, 1, { ack: true });
    assertEquals(next!.id, fence);
  });
});

Deno.test("queue: pruning drops delivered envelopes after deliveredRetentionMs", async () => {
  const minute = 60_000;
  await withRelay({ deliveredRetentionMs: 10 * minute, clockSkewMs: minute }, async (relay) => {
    const c = await setup(relay);
    const store = relay.relay.store;
    const env = await seal(c.alice, [c.bob], "message", { text: "prune me" }, {
      device_id: c.a.deviceId,
    });
    assertEquals((await c.a.send(env)).type, "accepted");
    // An undelivered envelope is never pruned, whatever its age.
    c.b.close();
    await c.b.closed;
    const [waiting] = await sendMany(c.alice, c.a, [c.bob], 1);
    // The first one is delivered while its sender is offline: her receipt waits in the queue.
    c.a.close();
    await c.a.closed;
    const b2 = await SimSession.connect(relay, "bob", c.bobToken);
    const [got1] = await takeDeliveries(b2, 1, { ack: true });
    assertEquals(got1!.id, env.id);
    await flush(b2);

    await relay.relay.sweep(Date.now() + 5 * minute);
    assertEquals(await store.envelopeExists(env.id), true, "kept for deliveredRetentionMs");
    const a2 = await SimSession.connect(relay, "alice", c.aliceToken, { deviceId: c.a.deviceId });
    const replay = await a2.send(env);
    assert(replay.type === "error");
    assertEquals(replay.code, "duplicate_envelope");
    a2.close();
    await a2.closed;

    // Past deliveredRetentionMs the ciphertext goes, even though the sender has not yet
    // collected her receipt (the receipt does not need the envelope).
    await relay.relay.sweep(Date.now() + 11 * minute);
    assertEquals(await store.envelopeExists(env.id), false, "pruned after deliveredRetentionMs");
    assertEquals(await store.envelopeExists(waiting!), true, "pending envelopes stay");
    const [got2] = await takeDeliveries(b2, 1, { ack: true });
    assertEquals(got2!.id, waiting);
    const a3 = await SimSession.connect(relay, "alice", c.aliceToken);
    const receipt = await receiptFor(a3, env.id, true);
    assertEquals(receipt.state, "delivered");
  });
});

Deno.test("queue: pruning keeps ids for 2×clockSkew so a replay is still a duplicate", async () => {
  const minute = 60_000;
  await withRelay({ deliveredRetentionMs: 0, clockSkewMs: minute }, async (relay) => {
    const c = await setup(relay);
    const store = relay.relay.store;
    const env = await seal(c.alice, [c.bob], "message", { text: "replay me" }, {
      device_id: c.a.deviceId,
    });
    assertEquals((await c.a.send(env)).type, "accepted");
    await takeDeliveries(c.b, 1, { ack: true });
    await receiptFor(c.a, env.id, true);
    await flush(c.a);
    // deliveredRetentionMs is 0, but within 2×skew the id must stay known.
    await relay.relay.sweep(Date.now() + 1.5 * minute);
    assertEquals(await store.envelopeExists(env.id), true);
    const replay = await c.a.send(env);
    assert(replay.type === "error");
    assertEquals(replay.code, "duplicate_envelope");
    // Past 2×skew it may go: by then created_at is outside the window anyway.
    await relay.relay.sweep(Date.now() + 2 * minute + 1000);
    assertEquals(await store.envelopeExists(env.id), false);
  });
});
