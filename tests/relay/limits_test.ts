/**
 * The relay's limits against an attacker on the wire (issue 13): frames refused by length
 * before parsing, nesting refused before `JSON.parse`, credentials re-checked for idle
 * sessions, private agents that cannot be probed, strangers who cannot fill the relay, and
 * receipts that match the schema the daemon checks. Each test fails on the relay before these
 * defences (docs/security.md §2.8).
 */
import { assert, assertEquals } from "../assert.ts";
import {
  CLOSE_CODES,
  generateAgentKeys,
  newId,
  type RelayFrame,
  RelayReceiptSchema,
} from "../../lib/protocol/mod.ts";
import { hashToken } from "../../lib/relay/mod.ts";
import { until } from "../wait.ts";
import {
  api,
  connectedPair,
  RawSocket,
  registerAgent,
  seal,
  type SimAgent,
  SimSession,
  takeDeliveries,
  type TestRelay,
  withRelay,
} from "./sim.ts";

/** Resolves with the close event, or rejects after `ms` (a guard, not a wait). */
function closedWithin(s: { closed: Promise<CloseEvent> }, ms = 5000): Promise<CloseEvent> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    s.closed.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
    }),
  ]);
}

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

Deno.test("limits: a pre-hello frame over 4 KB is refused by length (1009), unparsed", async () => {
  await withRelay({}, async (relay) => {
    const ws = new RawSocket(relay);
    assert(await ws.opened);
    ws.send(nested(3000)); // 6,000 characters, never parsed
    const closed = await closedWithin(ws);
    assertEquals(closed.code, 1009);
    assertEquals(ws.frames[0]?.code, "body_too_large");
    assertEquals(relay.relay.metrics.refused.get("body_too_large"), 1);
  });
});

Deno.test("limits: a frame past the envelope limit + overhead: error with its id, close 1009", async () => {
  await withRelay({ maxEnvelopeBytes: 4096 }, async (relay) => {
    const token = await relay.addClient("alice");
    const s = await SimSession.connect(relay, "alice", token);
    const id = newId("msg");
    s.raw(`{"type":"send","envelope":{"v":1,"id":"${id}","pad":"${"x".repeat(6000)}"}}`);
    const f = await s.next((f) => f.type === "error");
    assert(f.type === "error");
    assertEquals([f.code, f.id], ["envelope_too_large", id]);
    assertEquals((await closedWithin(s)).code, 1009);
  });
});

Deno.test("limits: JSON nested past the protocol's depth is refused before parsing", async () => {
  await withRelay({}, async (relay) => {
    const { alice, bob, a, aliceToken } = await connectedPair(relay);
    // A frame: 9 levels (a real one has 5).
    const env = await seal(alice, [bob], "message", { text: "x" }, { device_id: a.deviceId });
    const deep = JSON.stringify({ type: "send", envelope: { ...env, keys: "@@" } })
      .replace('"@@"', nested(7));
    a.raw(deep);
    const f = await a.next((f) => f.type === "error");
    assert(f.type === "error");
    assertEquals([f.code, f.id], ["payload_too_deep", env.id]);
    // Before hello too (and the socket is closed: nobody is authenticated).
    const raw = new RawSocket(relay);
    assert(await raw.opened);
    raw.send(nested(20));
    assertEquals((await closedWithin(raw)).code, CLOSE_CODES.unauthorized);
    assertEquals(raw.frames[0]?.code, "payload_too_deep");
    // HTTP bodies: 65 levels inside a field that fits every size limit.
    const res = await api(relay, "PUT", "/v1/permissions", {
      token: aliceToken,
      rawBody: `{"agent":${nested(65)}}`,
      headers: { "content-type": "application/json" },
    });
    assertEquals([res.status, res.body.error.code], [400, "payload_too_deep"]);
  });
});

Deno.test("limits: rotating or revoking a token ends an idle session at once", async () => {
  await withRelay({ credentialCheckMs: 50 }, async (relay) => {
    const { alice, bob, a, b } = await connectedPair(relay, { autoAck: true });
    // The set-up's deliveries and receipts acked: from here alice's session sends nothing. (An
    // ack still on its way when the relay closes the socket makes Deno's server reset the
    // connection, and the client may then see code 0 instead of the close frame's 4001.)
    await until(
      "the set-up acked",
      async () => (await api(relay, "GET", "/health")).body.queue_depth === 0,
    );
    // The thief's session (alice's token) sends nothing; the owner rotates the token out of
    // band, as `taskferry relay rotate-token` does (it writes the store directly).
    assert(await relay.relay.store.setClientToken("alice", await hashToken("tfr.alice.new")));
    assertEquals((await closedWithin(a)).code, CLOSE_CODES.unauthorized);
    assert(a.frames.some((f) => f.type === "error" && f.code === "unauthorized"));
    const depth = (await api(relay, "GET", "/health")).body.queue_depth;
    // A delivery for alice after the rotation waits for her real daemon: nobody gets it.
    const env = await seal(bob, [alice], "message", { text: "for alice" }, {
      device_id: b.deviceId,
    });
    assertEquals((await b.send(env)).type, "accepted");
    assertEquals((await api(relay, "GET", "/health")).body.queue_depth, depth + 1);
    // Revocation likewise.
    const bobSession = b;
    assert(await relay.relay.store.revokeClient("bob", Date.now()));
    assertEquals((await closedWithin(bobSession)).code, CLOSE_CODES.unauthorized);
    assert(bobSession.frames.some((f) => f.type === "error" && f.code === "client_revoked"));
  });
});

Deno.test("limits: with many sessions (one read of all clients), a rotation still ends its own", async () => {
  await withRelay({ credentialCheckMs: 50 }, async (relay) => {
    const sessions = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const token = await relay.addClient(`c${i}`);
      return await SimSession.connect(relay, `c${i}`, token);
    }));
    assert(await relay.relay.store.revokeClient("c7", Date.now()));
    assertEquals((await closedWithin(sessions[7]!)).code, CLOSE_CODES.unauthorized);
    // The others still answer.
    for (const s of [sessions[0]!, sessions[39]!]) {
      s.raw({ type: "ping" });
      await s.next((f) => f.type === "pong");
    }
  });
});

Deno.test("limits: a private handle answers exactly like an unknown one", async () => {
  await withRelay({}, async (relay) => {
    const carolToken = await relay.addClient("carol");
    await registerAgent(relay, carolToken, "carol", "hidden"); // private
    const malloryToken = await relay.addClient("mallory");
    const mallory = await registerAgent(relay, malloryToken, "mallory", "x");
    const m = await SimSession.connect(relay, "mallory", malloryToken);
    const probe = async (handle: string, type: "connection_request" | "message") => {
      const to: SimAgent = { handle, keys: await generateAgentKeys() };
      const env = await seal(mallory, [to], type, type === "message" ? { text: "hi" } : {}, {
        device_id: m.deviceId,
      });
      const f = await m.send(env);
      return JSON.stringify(f).replace(env.id, "ID").replace(handle, "HANDLE");
    };
    for (const type of ["connection_request", "message"] as const) {
      const hidden = await probe("@carol/hidden", type);
      assertEquals(hidden, await probe("@carol/nobody", type), type);
      assert(hidden.includes("unknown_recipient"), hidden);
    }
    const http = async (handle: string) => {
      const res = await api(relay, "GET", `/v1/agents/${handle}`, { token: malloryToken });
      return [res.status, res.text.replace(handle, "HANDLE")];
    };
    assertEquals(await http("@carol/hidden"), await http("@carol/nobody"));
  });
});

/** Registers `n` strangers (one client and agent each) with live sessions. */
async function strangers(relay: TestRelay, n: number, prefix = "s") {
  const out: { agent: SimAgent; s: SimSession }[] = [];
  for (let i = 0; i < n; i++) {
    const token = await relay.addClient(`${prefix}${i}`);
    const agent = await registerAgent(relay, token, `${prefix}${i}`, "x");
    out.push({ agent, s: await SimSession.connect(relay, `${prefix}${i}`, token) });
  }
  return out;
}

async function request(from: { agent: SimAgent; s: SimSession }, to: SimAgent, note = "hi") {
  const env = await seal(from.agent, [to], "connection_request", { note }, {
    device_id: from.s.deviceId,
  });
  const f: RelayFrame = await from.s.send(env);
  return f.type === "error" ? f.code : f.type;
}

/** A clock one second into a rate window now, so a short test never straddles two windows. */
function startOfWindow(): () => number {
  const offset = (Date.now() % 60_000) - 1_000;
  return () => Date.now() - offset;
}

Deno.test("limits: strangers cannot fill one agent's or the relay's queue with requests", async () => {
  await withRelay({
    now: startOfWindow(),
    connectionRequestsPerRecipientPerMinute: 3,
    connectionRequestsPerClientPerMinute: 4,
    maxAgentsPerClient: 5,
  }, async (relay) => {
    const bobToken = await relay.addClient("bob");
    const bob = await registerAgent(relay, bobToken, "bob", "writer", { public: true });
    const carol = await registerAgent(relay, await relay.addClient("carol"), "carol", "x", {
      public: true,
    });
    // Per recipient: four strangers, one request each, to bob.
    const many = await strangers(relay, 4);
    const answers = [];
    for (const x of many) answers.push(await request(x, bob));
    assertEquals(answers, ["accepted", "accepted", "accepted", "rate_limited"]);
    // A connection_request is small: 16 KB at most.
    assertEquals(await request(many[3]!, carol, "x".repeat(2000)), "accepted");
    const big = await seal(many[2]!.agent, [carol], "connection_request", {
      note: "x".repeat(2000),
      invite: "y".repeat(128),
      permissions: {},
    }, { device_id: many[2]!.s.deviceId });
    (big.payload as { ciphertext: string }).ciphertext += "A".repeat(16_000);
    const refused = await many[2]!.s.send(big);
    assertEquals(refused.type === "error" && refused.code, "envelope_too_large");
    // Per client: one client's five agents (the cap) ask five agents once each; the fifth
    // request is over the client's limit.
    const targetsToken = await relay.addClient("t");
    const token = await relay.addClient("farm");
    const farm = await SimSession.connect(relay, "farm", token);
    const codes = [];
    for (let i = 0; i < 5; i++) {
      const target = await registerAgent(relay, targetsToken, "t", `t${i}`, { public: true });
      const agent = await registerAgent(relay, token, "farm", `a${i}`);
      codes.push(await request({ agent, s: farm }, target));
    }
    assertEquals(codes, ["accepted", "accepted", "accepted", "accepted", "rate_limited"]);
    // Agents per client: the sixth registration is refused; updating an existing one is not.
    const sixth = await registerAgent(relay, token, "farm", "a5").then(() => "201", String);
    assert(sixth.includes("403") && sixth.includes("too_many_agents"), sixth);
  });
});

Deno.test("limits: the relay's receipts match RelayReceiptSchema (delivered and failed)", async () => {
  await withRelay({ retentionMs: 60_000 }, async (relay) => {
    const { alice, bob, a, b } = await connectedPair(relay);
    await takeDeliveries(a, 1, { ack: true }); // the connection_accept
    const env = await seal(alice, [bob], "message", { text: "hi" }, { device_id: a.deviceId });
    assertEquals((await a.send(env)).type, "accepted");
    await takeDeliveries(b, 2, { ack: true }); // the request, then the message
    b.close();
    await b.closed;
    const lost = await seal(alice, [bob], "message", { text: "lost" }, {
      device_id: a.deviceId,
    });
    assertEquals((await a.send(lost)).type, "accepted");
    await relay.relay.sweep(Date.now() + 61_000);
    const receipts = [];
    while (receipts.length < 3) {
      const f = await a.next((f) => f.type === "receipt");
      if (f.type !== "receipt") continue;
      a.raw({ type: "ack", seq: f.seq });
      const parsed = RelayReceiptSchema.safeParse(f.receipt);
      assert(parsed.success, JSON.stringify(f.receipt));
      receipts.push(`${parsed.data.id === lost.id ? "lost" : "ok"}:${parsed.data.state}`);
    }
    assert(receipts.includes("ok:delivered") && receipts.includes("lost:failed"), `${receipts}`);
  });
});
