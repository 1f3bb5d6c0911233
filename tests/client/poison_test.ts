/**
 * Poison isolation (issue 13 item 1), played as an attacker would: alice's own keys, her relay
 * credentials on a raw WebSocket (her daemon stopped), and envelopes sealed around hostile
 * plaintext (`sealRaw`, so nothing on the sending side validates them). They go through the
 * real relay to bob's real daemon. An honest message sent right after must arrive within
 * seconds; its latency is printed. Also: a transient store error is retried with a counter
 * shown in `GET /v1/health`, and clears once the envelope goes through.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  agentKeysFromPrivate,
  decodeBase64Url,
  type Envelope,
  type EnvelopeHeader,
  type MessageType,
  newId,
  sealEnvelope,
} from "../../lib/protocol/mod.ts";
import { RawWs } from "../e2e/faults/raw_ws.ts";
import { sealRaw } from "../e2e/faults/seal_raw.ts";
import { DatabaseSync } from "node:sqlite";
import { get } from "../../lib/store/mod.ts";
import { ALICE, BOB, dbRows } from "./helpers.ts";
import { eventually, startWorld, type World } from "./world.ts";

const encoder = new TextEncoder();

/** Alice as a hostile peer: her keys and a raw relay session under her client's token. */
async function hostileAlice(w: World) {
  const [a] = dbRows<{ s: string; e: string }>(
    w.alice,
    "SELECT signing_private_key AS s, encryption_private_key AS e FROM agents WHERE handle = ?",
    ALICE,
  );
  const keys = await agentKeysFromPrivate(decodeBase64Url(a!.s), decodeBase64Url(a!.e));
  const bobKey = decodeBase64Url(
    (await w.bob.api.agents()).find((x) => x.handle === BOB)!.encryption_public_key,
  );
  const device = (await w.alice.api.health()).device_id;
  await w.alice.close(); // one session per client: the attacker takes alice's
  const ws = await RawWs.connect(w.relay.url.replace(/^http/, "ws") + "/v1/ws");
  await ws.json({
    type: "hello",
    client_id: "alice",
    token: w.alice.relayToken,
    device_id: device,
  });
  await ws.waitFor((m) => (m as { type?: string }).type === "welcome");
  const header = (type: MessageType, extra: Partial<EnvelopeHeader> = {}): EnvelopeHeader => ({
    v: 1,
    id: newId("msg"),
    type,
    from: ALICE,
    to: [BOB],
    created_at: new Date().toISOString(),
    device_id: device,
    ...extra,
  });
  const to = [{ handle: BOB, encryptionPublicKey: bobKey }];
  return {
    ws,
    header,
    /** Seals `plaintext` as it is (hostile content, validly signed and encrypted). */
    raw: (h: EnvelopeHeader, plaintext: string) =>
      sealRaw(h, encoder.encode(plaintext), keys.signing.privateKey, to),
    honest: (h: EnvelopeHeader, payload: unknown) =>
      sealEnvelope(h, payload, { handle: ALICE, signingPrivateKey: keys.signing.privateKey }, to),
    /** Sends through the relay and waits for its `accepted`. */
    send: async (env: Envelope) => {
      await ws.json({ type: "send", envelope: env });
      const answer = await ws.waitFor((m) => (m as { id?: string }).id === env.id) as {
        type: string;
      };
      assertEquals(answer.type, "accepted", `the relay accepts ${env.type} ${env.id}`);
    },
  };
}

Deno.test("poison: hostile envelopes through the relay cannot block an honest one", async () => {
  const w = await startWorld();
  try {
    const bob = w.bob.running.daemon;
    const alice = await hostileAlice(w);

    // 1. A task_request whose title is a lone surrogate: valid JSON, not well-formed text.
    const surrogate = await alice.raw(
      alice.header("task_request", { task_id: newId("task") }),
      '{"title":"\\ud800","instructions":"x"}',
    );
    // 2. A message that makes apply throw inside bob's transaction (a bug any payload might
    //    hit): the generic isolation, whatever the cause.
    const boom = await alice.honest(alice.header("message"), { text: "boom" });
    const add = bob.store.inbox.add.bind(bob.store.inbox);
    bob.store.inbox.add = (agent: string, id: string) => {
      if (id === boom.id) throw new TypeError("injected: apply blew up");
      return add(agent, id);
    };
    // 3. A payload nested past the protocol's 64 levels (gap 7).
    const deep = await alice.raw(
      alice.header("message"),
      `{"data":${"[".repeat(70)}${"]".repeat(70)}}`,
    );
    // 4. The honest message right behind them.
    const honest = await alice.honest(alice.header("message"), { text: "still here" });

    for (const env of [surrogate, boom, deep]) await alice.send(env);
    const sentAt = performance.now();
    await alice.send(honest);
    await eventually(async () =>
      (await w.bob.api.inbox({ agent: BOB, limit: 500 })).items.some((m) => m.id === honest.id)
    );
    const latencyMs = performance.now() - sentAt;
    console.log(`poison: honest message at bob ${latencyMs.toFixed(0)} ms after it was sent`);
    assert(latencyMs < 5000, `honest message took ${latencyMs} ms`);

    const quarantined = (id: string) =>
      dbRows<{ reason: string }>(w.bob, "SELECT reason FROM quarantine WHERE id = ?", id)[0]
        ?.reason;
    assertEquals(quarantined(surrogate.id), "invalid_payload");
    assertEquals(quarantined(deep.id), "payload_too_deep");
    const [row] = dbRows<{ state: string; state_code: string; state_reason: string }>(
      w.bob,
      "SELECT state, state_code, state_reason FROM messages WHERE id = ? AND direction = 'in'",
      boom.id,
    );
    assertEquals([row?.state, row?.state_code], ["rejected", "internal"], "kept for the owner");
    assert(row!.state_reason.includes("injected"), row!.state_reason);
    const marked = await w.bob.api.ack(boom.id, "read", BOB).catch((e) => e);
    assertEquals((marked as { code?: string }).code, "conflict", "a rejected message stays so");
    // Everything was acked: nothing is left for bob at the relay, nothing is stuck.
    await eventually(() => {
      const db = new DatabaseSync(w.relay.dbPath, { readOnly: true });
      try {
        return Promise.resolve(
          get<{ n: number }>(
            db,
            "SELECT count(*) AS n FROM deliveries WHERE client_id = 'bob' AND state = 'pending'",
          )!.n === 0,
        );
      } finally {
        db.close();
      }
    });
    assertEquals((await w.bob.api.health()).inbound.stuck, []);
    await alice.ws.close();
  } finally {
    await w.close();
  }
});

Deno.test("poison: a transient store error is retried, counted in health, then clears", async () => {
  const w = await startWorld();
  try {
    const bob = w.bob.running.daemon;
    const insert = bob.store.messages.insert.bind(bob.store.messages);
    let failures = 0;
    bob.store.messages.insert = (...args: Parameters<typeof insert>) => {
      if (args[0].type === "message" && failures < 3) {
        failures++;
        throw Object.assign(new Error("database is locked"), { errcode: 5 });
      }
      return insert(...args);
    };
    const health = () => w.bob.api.health();
    const sent = await w.alice.api.send({ from: ALICE, to: BOB, text: "after the lock" });
    // Surfaced while it is stuck: the id, the attempts and the error.
    const stuck = await eventually(async () => {
      const s = (await health()).inbound.stuck;
      return s.find((x) => x.id === sent.message.id && x.attempts >= 2);
    });
    assertEquals(stuck.last_error, "database is locked");
    // Then it goes through once the store answers again, and the entry clears.
    await w.bob.api.waitForInbox(BOB, (m) => m.id === sent.message.id);
    await eventually(async () => (await health()).inbound.stuck.length === 0);
    assertEquals(failures, 3);
  } finally {
    await w.close();
  }
});
