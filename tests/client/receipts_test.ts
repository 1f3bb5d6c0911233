/**
 * Delivery states the relay cannot forge (issue 13 item 5, gap 6) and relay answers it cannot
 * bend (item 10, gap 9). With the real relay: the relay's own "delivered" shows as `relayed`;
 * `delivered` comes only from the recipient daemon's signed receipt, batched (`message_ids`).
 * With a scripted relay (tests/client/fake_relay.ts): forged or malformed receipt frames and a
 * frame nested 100,000 deep change nothing and do not stop the link; an agent record for
 * another handle, or with a non-canonical key, is never pinned.
 */
import { assert, assertEquals } from "../assert.ts";
import { startDaemon } from "../../lib/client/mod.ts";
import {
  decodeBase64Url,
  encodeBase64Url,
  generateAgentKeys,
  newId,
  sealEnvelope,
  TaskferryError,
} from "../../lib/protocol/mod.ts";
import { TaskferryClient } from "../../lib/sdk/mod.ts";
import { all } from "../../lib/store/mod.ts";
import { startFakeRelay } from "./fake_relay.ts";
import { ALICE, BOB, dbRows } from "./helpers.ts";
import { startTestRelay } from "../relay/sim.ts";
import {
  eventually,
  startTestDaemon,
  startWorld,
  type TestDaemon,
  WORLD_RELAY_OPTIONS,
} from "./world.ts";

/** The `delivered` receipts bob signed that `t` (alice) received. */
function receiptPayloads(t: TestDaemon) {
  return dbRows<{ payload: string }>(
    t,
    "SELECT payload FROM messages WHERE type = 'receipt' AND direction = 'in' AND from_handle = ?",
    BOB,
  ).map((r) => JSON.parse(r.payload) as { message_id: string; message_ids?: string[] })
    .filter((p) => (p as { state?: string }).state === "delivered");
}

/** Every id those receipts vouch for. */
function receiptIds(t: TestDaemon): string[] {
  return receiptPayloads(t).flatMap((p) => [p.message_id, ...(p.message_ids ?? [])]);
}

Deno.test("receipts: the relay's word is `relayed`; `delivered` is bob's signed receipt", async () => {
  const w = await startWorld();
  try {
    const state = async (id: string) => (await w.alice.api.message(id)).state;
    // Bob's daemon stores but does not answer (an older peer, or receipts lost).
    const messages = w.bob.running.daemon.store.messages;
    const owe = messages.owe.bind(messages);
    messages.owe = () => {};
    const m1 = await w.alice.api.send({ from: ALICE, to: BOB, text: "one" });
    await w.bob.api.waitForInbox(BOB, (m) => m.id === m1.message.id);
    await eventually(async () => (await state(m1.message.id)) === "relayed");

    messages.owe = owe;
    const m2 = await w.alice.api.send({ from: ALICE, to: BOB, text: "two" });
    await eventually(async () => (await state(m2.message.id)) === "delivered");
    assertEquals(await state(m1.message.id), "relayed", "nothing but a receipt moves it on");
    const covered = receiptIds(w.alice);
    assert(covered.includes(m2.message.id), "bob's signed receipt names m2");
    assert(!covered.includes(m1.message.id), "and nothing vouches for m1");
  } finally {
    await w.close();
  }
});

Deno.test("receipts: a burst is acknowledged in a few batched receipts", async () => {
  const w = await startWorld();
  try {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      ids.push((await w.alice.api.send({ from: ALICE, to: BOB, text: `n${i}` })).message.id);
    }
    await eventually(async () => {
      const states = await Promise.all(
        ids.map(async (id) => (await w.alice.api.message(id)).state),
      );
      return states.every((s) => s === "delivered");
    });
    const payloads = receiptPayloads(w.alice);
    const covered = receiptIds(w.alice).filter((id) => ids.includes(id));
    assertEquals(new Set(covered), new Set(ids), "every id in some receipt, once");
    assertEquals(covered.length, ids.length);
    console.log(`receipts: ${ids.length} messages acknowledged by ${payloads.length} receipts`);
    assert(payloads.length < ids.length / 2, `${payloads.length} receipts for ${ids.length}`);
  } finally {
    await w.close();
  }
});

Deno.test("receipts: what is owed survives a crash before the batch went out", async () => {
  const w = await startWorld();
  try {
    // Bob's daemon stores and acks, then dies before its 200 ms batch: no flush, not even on
    // the way down (as with kill -9).
    const receipts = w.bob.running.daemon.inbound.receipts;
    receipts.schedule = () => {};
    receipts.flush = () => Promise.resolve();
    const m = await w.alice.api.send({ from: ALICE, to: BOB, text: "before the crash" });
    await w.bob.api.waitForInbox(BOB, (x) => x.id === m.message.id);
    await eventually(async () => (await w.alice.api.message(m.message.id)).state === "relayed");
    const owed = () =>
      dbRows<{ id: string }>(w.bob, "SELECT id FROM receipts_due").map((r) => r.id);
    assert(owed().includes(m.message.id), "owed, in bob's database");
    w.bob = await w.bob.restart();
    await eventually(async () => (await w.alice.api.message(m.message.id)).state === "delivered");
    await eventually(() => Promise.resolve(owed().length === 0)); // settled with the outbox row
  } finally {
    await w.close();
  }
});

/** A key in canonical base64url, and the same bytes with a stray low bit in its last char. */
async function keys() {
  const k = await generateAgentKeys();
  const signing = encodeBase64Url(k.signing.publicKey);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(signing.at(-1)!);
  const stray = signing.slice(0, -1) + alphabet[last ^ 1];
  return { k, signing, encryption: encodeBase64Url(k.encryption.publicKey), stray };
}

Deno.test("receipts: a scripted relay cannot forge states, bend pins or stall the link", async (t) => {
  const bob = await keys();
  const carol = await keys();
  const record = (handle: string, signing: string, encryption: string) =>
    Response.json({
      handle,
      signing_public_key: signing,
      encryption_public_key: encryption,
      fingerprint: "x",
      profile: {},
      public: true,
    });
  const relay = startFakeRelay({
    agent: (handle) => {
      if (handle === BOB) return record(BOB, bob.signing, bob.encryption);
      if (handle === "@bob/other") return record("@evil/agent", bob.signing, bob.encryption);
      if (handle === "@carol/x") return record("@carol/x", carol.stray, carol.encryption);
      if (handle === "@deep/x") return new Response("[".repeat(100_000));
      return Response.json({ error: { code: "unknown_agent", message: "no" } }, { status: 404 });
    },
  });
  const home = await Deno.makeTempDir({ prefix: "tf-receipts-" });
  const running = await startDaemon({
    home,
    clientId: "alice",
    relayUrl: relay.url,
    relayToken: "tfr.alice.0123456789abcdef",
    port: 0,
    linkBackoff: { minBackoffMs: 10, maxBackoffMs: 50 },
  });
  const d = running.daemon;
  const api = new TaskferryClient({ url: running.url, token: running.token });
  try {
    await api.createAgent({ handle: ALICE });
    await eventually(async () => (await api.health()).relay.connected);
    const session = relay.sessions.at(-1)!;
    const { id } = await d.outbox.send({
      from: ALICE,
      to: [BOB],
      type: "message",
      payload: { text: "hi" },
    });
    await eventually(async () => (await api.message(id)).state === "accepted");
    let seq = 0;
    const receiptFrame = async (receipt: unknown) => {
      const s = ++seq;
      const acked = relay.waitFrame((f) => f.type === "ack" && f.seq === s);
      session.send({ type: "receipt", seq: s, receipt });
      await acked;
      return (await api.message(id)).state;
    };
    const at = new Date().toISOString();

    await t.step("the relay's `delivered` is stored as `relayed`", async () => {
      assertEquals(
        await receiptFrame({ id, state: "delivered", recipients: ["bob"], at }),
        "relayed",
      );
    });
    await t.step("a receipt frame outside the schema changes nothing (and is acked)", async () => {
      assertEquals(await receiptFrame({ id, state: "read", recipients: ["bob"], at }), "relayed");
      assertEquals(
        await receiptFrame({ id, state: "processed", recipients: "bob", at, extra: 1 }),
        "relayed",
      );
    });
    await t.step("a frame nested 100,000 deep is dropped; the link goes on", async () => {
      session.sendText("[".repeat(100_000) + "]".repeat(100_000));
      const failed = await receiptFrame({
        id,
        state: "failed",
        recipients: ["bob"],
        at,
        reason: "x",
      });
      assertEquals(failed, "failed", "the next frame was handled on the same session");
      assertEquals(relay.hellos, 1);
    });
    await t.step("a record for another handle is not pinned", async () => {
      const err = await d.peers.ensure("@bob/other").catch((e) => e);
      assert(err instanceof TaskferryError && err.code === "unknown_agent", String(err));
      assertEquals(d.store.peers.get("@evil/agent"), undefined);
      assertEquals(d.store.peers.get("@bob/other"), undefined);
    });
    await t.step("a non-canonical key is refused; its envelopes are quarantined", async () => {
      const err = await d.peers.ensure("@carol/x").catch((e) => e);
      assert(err instanceof TaskferryError && err.code === "unknown_agent", String(err));
      assertEquals(d.store.peers.get("@carol/x"), undefined);
      const aliceKey = (await api.agents()).find((a) => a.handle === ALICE)!;
      const env = await sealEnvelope(
        {
          v: 1,
          id: newId("msg"),
          type: "message",
          from: "@carol/x",
          to: [ALICE],
          created_at: at,
          device_id: newId("dev"),
        },
        { text: "hello" },
        { handle: "@carol/x", signingPrivateKey: carol.k.signing.privateKey },
        [{
          handle: ALICE,
          encryptionPublicKey: decodeBase64Url(aliceKey.encryption_public_key),
        }],
      );
      await d.inbound.deliver(1, env); // acked: it resolves
      const [q] = all<{ reason: string }>(
        d.db,
        "SELECT reason FROM quarantine WHERE id = ?",
        env.id,
      );
      assertEquals(q?.reason, "unknown_sender");
    });
    await t.step("an answer nested 100,000 deep is refused, not parsed", async () => {
      const err = await d.peers.ensure("@deep/x").catch((e) => e);
      assert(err instanceof TaskferryError, String(err));
      assertEquals(err.code, "unavailable");
    });
  } finally {
    await running.close();
    await relay.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("receipts: a connection request's `delivered` receipt waits for the owner's answer", async () => {
  const relay = await startTestRelay(WORLD_RELAY_OPTIONS);
  const alice = await startTestDaemon(relay, "alice");
  const bob = await startTestDaemon(relay, "bob");
  try {
    await alice.api.createAgent({ handle: ALICE });
    await bob.api.createAgent({ handle: BOB, public: true });
    await eventually(async () =>
      (await alice.api.health()).relay.connected && (await bob.api.health()).relay.connected
    );
    const sent = await alice.api.connect({ from: ALICE, to: BOB, note: "hello" });
    const id = sent.message!.id;
    await bob.api.waitForInbox(BOB, (m) => m.id === id);
    // Bob's receipt pass has run (the relay would refuse a receipt outside a connection);
    // the receipt is still owed, not dropped.
    const receipts = bob.running.daemon.inbound.receipts;
    await eventually(() => Promise.resolve(receipts.idle()));
    assertEquals((await alice.api.message(id)).state, "relayed");
    assertEquals(dbRows(bob, "SELECT id FROM receipts_due WHERE id = ?", id).length, 1);

    await bob.api.acceptConnection(ALICE);
    await eventually(async () => (await alice.api.message(id)).state === "delivered");
    assert(receiptIds(alice).includes(id), "bob's signed receipt names the request");
  } finally {
    await alice.close();
    await bob.close();
    await relay.close();
  }
});
