/**
 * Every refusal of the relay's accept pipeline (design §7): the exact catalogue code, and proof
 * that nothing was stored — the store's counts do not move, the id is unknown, and the
 * recipient's next delivery is a valid "fence" envelope sent after the refused one.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  type Envelope,
  generateAgentKeys,
  newId,
  type RelayFrame,
} from "../../lib/protocol/mod.ts";
import {
  api,
  connectAgents,
  connectedPair,
  registerAgent,
  seal,
  setPermissions,
  type SimAgent,
  SimSession,
  takeDeliveries,
  type TestRelay,
  withRelay,
} from "./sim.ts";

/** A connected pair with both connection deliveries drained and acked, receipts received. */
async function setup(relay: TestRelay) {
  const pair = await connectedPair(relay);
  const [request] = await takeDeliveries(pair.b, 1, { ack: true });
  await pair.a.next((f) => f.type === "receipt" && f.receipt.id === request!.id);
  const [accept] = await takeDeliveries(pair.a, 1, { ack: true });
  await pair.b.next((f) => f.type === "receipt" && f.receipt.id === accept!.id);
  return { relay, ...pair };
}
type Ctx = Awaited<ReturnType<typeof setup>>;

/** A third client with one agent and a session. */
async function addParty(relay: TestRelay, client: string, name: string, isPublic = false) {
  const token = await relay.addClient(client);
  const agent = await registerAgent(relay, token, client, name, { public: isPublic });
  const session = await SimSession.connect(relay, client, token);
  return { token, agent, session };
}

function answerCode(frame: RelayFrame): string {
  return frame.type === "error" ? frame.code : frame.type;
}

/** Sends `env` on `session`, expects the refusal `code`, and checks nothing was stored. */
async function expectRefused(
  relay: TestRelay,
  session: SimSession,
  env: unknown,
  code: string,
) {
  const store = relay.relay.store;
  const before = await store.stats();
  const answer = await session.send(env);
  assertEquals(answerCode(answer), code, JSON.stringify(answer));
  assert(answer.type === "error");
  assert(answer.message.length > 0, "an error frame carries a message");
  const id = (env as { id?: unknown })?.id;
  if (typeof id === "string") {
    assertEquals(answer.id, id, "the error names the refused envelope");
    if (code !== "duplicate_envelope") {
      assertEquals(await store.envelopeExists(id), false, `${code}: envelope was stored`);
    }
  }
  const after = await store.stats();
  assertEquals(after.envelopes, before.envelopes, `${code}: envelope count moved`);
  assertEquals(
    after.pending_deliveries,
    before.pending_deliveries,
    `${code}: a delivery was queued`,
  );
}

/** Sends `env`, expects `accepted`. */
async function expectAccepted(session: SimSession, env: Envelope) {
  const answer = await session.send(env);
  assertEquals(answerCode(answer), "accepted", JSON.stringify(answer));
}

/**
 * Sends a valid message from → to and asserts it is the recipient's NEXT delivery (so nothing
 * refused before it reached the recipient); acks it and waits for the sender's receipt so the
 * store is quiet again.
 */
async function fence(
  from: SimAgent,
  fromSession: SimSession,
  to: SimAgent,
  toSession: SimSession,
) {
  const env = await seal(from, [to], "message", { text: "fence" }, {
    device_id: fromSession.deviceId,
  });
  await expectAccepted(fromSession, env);
  const [next] = await takeDeliveries(toSession, 1, { ack: true });
  assertEquals(next!.id, env.id, "the recipient's next delivery is the fence");
  await fromSession.next((f) => f.type === "receipt" && f.receipt.id === env.id);
}

const fenceAB = (c: Ctx) => fence(c.alice, c.a, c.bob, c.b);
const fenceBA = (c: Ctx) => fence(c.bob, c.b, c.alice, c.a);

function msg(c: Ctx, header: Partial<Envelope> = {}, text = "hello") {
  return seal(c.alice, [c.bob], "message", { text }, { device_id: c.a.deviceId, ...header });
}

Deno.test("refusal: envelope_too_large (maxEnvelopeBytes) stores nothing", async () => {
  await withRelay({ maxEnvelopeBytes: 4096 }, async (relay) => {
    const c = await setup(relay);
    // Over the limit but within the frame overhead: refused, the session stays (past it the
    // socket is closed with 1009: tests/relay/limits_test.ts).
    const big = await msg(c, {}, "x".repeat(3200));
    const size = JSON.stringify(big).length;
    assert(size > 4096 && size < 4096 + 1024, `envelope of ${size} bytes`);
    await expectRefused(relay, c.a, big, "envelope_too_large");
    await fenceAB(c);
    // Just under the limit is fine.
    await expectAccepted(c.a, await msg(c, {}, "x".repeat(1000)));
  });
});

Deno.test("refusal: invalid_envelope (unknown field, bad fields, not an object)", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const env = await msg(c);
    await expectRefused(relay, c.a, { ...env, extra: true }, "invalid_envelope");
    await expectRefused(relay, c.a, { ...env, created_at: "yesterday" }, "invalid_envelope");
    await expectRefused(relay, c.a, { ...env, to: ["bob"] }, "invalid_envelope");
    await expectRefused(
      relay,
      c.a,
      { ...env, payload: { ...env.payload, alg: "none" } },
      "invalid_envelope",
    );
    const { v: _v, ...noVersion } = env;
    await expectRefused(relay, c.a, noVersion, "invalid_envelope");
    await expectRefused(relay, c.a, "not an envelope", "invalid_envelope");
    await expectRefused(relay, c.a, null, "invalid_envelope");
    // A connection message names exactly one recipient.
    const carol = await addParty(relay, "carol", "x", true);
    const multi = await seal(c.alice, [c.bob, carol.agent], "connection_request", {}, {
      device_id: c.a.deviceId,
    });
    await expectRefused(relay, c.a, multi, "invalid_envelope");
    await fenceAB(c);
    // The untouched original is still acceptable: nothing about it was recorded.
    await expectAccepted(c.a, env);
  });
});

Deno.test("refusal: unsupported_version (v: 2)", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const env = await msg(c);
    await expectRefused(relay, c.a, { ...env, v: 2 }, "unsupported_version");
    await expectRefused(relay, c.a, { ...env, v: "1" }, "unsupported_version");
    await fenceAB(c);
  });
});

Deno.test("refusal: sender_not_owned (alice's session sends as @bob/x)", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    // Even with bob's real agent and keys: the session belongs to client alice.
    const asBob = await seal(c.bob, [c.alice], "message", { text: "spoof" }, {
      device_id: c.a.deviceId,
    });
    await expectRefused(relay, c.a, asBob, "sender_not_owned");
    const fake: SimAgent = { handle: "@bob/x", keys: await generateAgentKeys() };
    const asFake = await seal(fake, [c.alice], "message", { text: "spoof" }, {
      device_id: c.a.deviceId,
    });
    await expectRefused(relay, c.a, asFake, "sender_not_owned");
    await fenceBA(c);
  });
});

Deno.test("refusal: device_mismatch (device_id is not the session's)", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const env = await msg(c, { device_id: newId("dev") });
    await expectRefused(relay, c.a, env, "device_mismatch");
    await fenceAB(c);
  });
});

Deno.test("refusal: unknown_agent (sender handle not registered)", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const ghost: SimAgent = { handle: "@alice/ghost", keys: await generateAgentKeys() };
    const env = await seal(ghost, [c.bob], "message", { text: "boo" }, {
      device_id: c.a.deviceId,
    });
    await expectRefused(relay, c.a, env, "unknown_agent");
    await fenceAB(c);
  });
});

Deno.test("refusal: bad_signature (tampered after sealing; signed by another key)", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const env = await msg(c);
    const later = new Date(Date.parse(env.created_at) + 1).toISOString();
    await expectRefused(relay, c.a, { ...env, created_at: later }, "bad_signature");
    const conv = { ...env, conversation_id: newId("conv") };
    await expectRefused(relay, c.a, conv, "bad_signature");
    const ct = env.payload.ciphertext;
    const flipped = (ct[0] === "A" ? "B" : "A") + ct.slice(1);
    await expectRefused(
      relay,
      c.a,
      { ...env, payload: { ...env.payload, ciphertext: flipped } },
      "bad_signature",
    );
    const sig = env.sig;
    await expectRefused(
      relay,
      c.a,
      { ...env, sig: (sig[0] === "A" ? "B" : "A") + sig.slice(1) },
      "bad_signature",
    );
    // Same handle, but sealed with a key the relay does not know.
    const impostor: SimAgent = { handle: c.alice.handle, keys: await generateAgentKeys() };
    const forged = await seal(impostor, [c.bob], "message", { text: "forged" }, {
      device_id: c.a.deviceId,
    });
    await expectRefused(relay, c.a, forged, "bad_signature");
    await fenceAB(c);
    await expectAccepted(c.a, env);
  });
});

Deno.test("refusal: duplicate_envelope (replay of an accepted envelope)", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const env = await msg(c);
    await expectAccepted(c.a, env);
    const [got] = await takeDeliveries(c.b, 1, { ack: true });
    assertEquals(got!.id, env.id);
    await expectRefused(relay, c.a, env, "duplicate_envelope");
    // Replayed from another session of the same client, too.
    c.a.close();
    const a2 = await SimSession.connect(relay, "alice", c.aliceToken, { deviceId: c.a.deviceId });
    await expectRefused(relay, a2, env, "duplicate_envelope");
    await fence(c.alice, a2, c.bob, c.b);
  });
});

Deno.test("refusal: clock_skew (created_at 10 minutes in the past and the future)", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const past = new Date(Date.now() - 10 * 60_000).toISOString();
    const future = new Date(Date.now() + 10 * 60_000).toISOString();
    await expectRefused(relay, c.a, await msg(c, { created_at: past }), "clock_skew");
    await expectRefused(relay, c.a, await msg(c, { created_at: future }), "clock_skew");
    await fenceAB(c);
    // Inside the window (default 5 min) both ways is fine.
    const near = new Date(Date.now() - 2 * 60_000).toISOString();
    await expectAccepted(c.a, await msg(c, { created_at: near }));
  });
});

Deno.test("refusal: unknown_recipient (alone and among known recipients)", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const nobody: SimAgent = { handle: "@bob/nobody", keys: await generateAgentKeys() };
    const env = await seal(c.alice, [nobody], "message", { text: "?" }, {
      device_id: c.a.deviceId,
    });
    await expectRefused(relay, c.a, env, "unknown_recipient");
    const mixed = await seal(c.alice, [c.bob, nobody], "message", { text: "?" }, {
      device_id: c.a.deviceId,
    });
    await expectRefused(relay, c.a, mixed, "unknown_recipient");
    // A recipient whose client was revoked is unknown too.
    const carol = await addParty(relay, "carol", "x", true);
    await connectAgents(c.alice, c.a, carol.agent, carol.session);
    await relay.relay.store.revokeClient("carol", Date.now());
    const toCarol = await seal(c.alice, [carol.agent], "message", { text: "?" }, {
      device_id: c.a.deviceId,
    });
    await expectRefused(relay, c.a, toCarol, "unknown_recipient");
    await fenceAB(c);
  });
});

Deno.test("refusal: not_connected (no connection; request to a private agent)", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const carol = await addParty(relay, "carol", "x", false);
    // A private agent alice may not see is answered like an unknown one, whatever the type:
    // its existence cannot be probed.
    const hello = await seal(c.alice, [carol.agent], "message", { text: "hi" }, {
      device_id: c.a.deviceId,
    });
    await expectRefused(relay, c.a, hello, "unknown_recipient");
    const req = await seal(c.alice, [carol.agent], "connection_request", {}, {
      device_id: c.a.deviceId,
    });
    await expectRefused(relay, c.a, req, "unknown_recipient");
    await fenceAB(c);

    // With an invite redeemed by alice's client, carol is visible to her.
    const invite = await api(relay, "POST", "/v1/invites", {
      token: carol.token,
      body: { agent: carol.agent.handle },
    });
    assertEquals(invite.status, 201);
    const redeem = await api(relay, "GET", `/v1/invites/${invite.body.code}`, {
      token: c.aliceToken,
    });
    assertEquals(redeem.status, 200);
    // A message still needs a connection; one unconnected recipient refuses the whole envelope.
    const again = await seal(c.alice, [carol.agent], "message", { text: "hi" }, {
      device_id: c.a.deviceId,
    });
    await expectRefused(relay, c.a, again, "not_connected");
    const both = await seal(c.alice, [c.bob, carol.agent], "message", { text: "hi" }, {
      device_id: c.a.deviceId,
    });
    await expectRefused(relay, c.a, both, "not_connected");
    // The same request now passes.
    await expectAccepted(c.a, req);
    const [first] = await takeDeliveries(carol.session, 1, { ack: true });
    assertEquals(first!.id, req.id, "the refused messages never reached carol");
  });
});

Deno.test("refusal: permission_denied (can_message=false), restoring allows again", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const off = await setPermissions(relay, c.bobToken, c.bob, c.alice, { can_message: false });
    assertEquals(off.status, 200, off.text);
    await expectRefused(relay, c.a, await msg(c), "permission_denied");
    // The other direction is unaffected.
    await fenceBA(c);
    // Only the recipient's owner may change what the peer may send.
    const sneaky = await setPermissions(relay, c.aliceToken, c.bob, c.alice, {});
    assertEquals(sneaky.status, 403);
    assertEquals(sneaky.body.error.code, "handle_not_owned");
    const on = await setPermissions(relay, c.bobToken, c.bob, c.alice, { can_message: true });
    assertEquals(on.status, 200);
    await fenceAB(c);
  });
});

/** Sends a task_request alice → bob and returns its task id. */
async function openTask(c: Ctx, taskId = newId("task")) {
  const env = await seal(c.alice, [c.bob], "task_request", {
    title: "t",
    instructions: "do it",
  }, { device_id: c.a.deviceId, task_id: taskId });
  await expectAccepted(c.a, env);
  return { taskId, env };
}

Deno.test("refusal: task_role (worker completes; a third party acts on the task)", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const { taskId } = await openTask(c);
    const complete = await seal(c.bob, [c.alice], "task_complete", {}, {
      device_id: c.b.deviceId,
      task_id: taskId,
    });
    await expectRefused(relay, c.b, complete, "task_role");
    const requesterAccepts = await seal(c.alice, [c.bob], "task_accept", {}, {
      device_id: c.a.deviceId,
      task_id: taskId,
    });
    await expectRefused(relay, c.a, requesterAccepts, "task_role");

    // carol is connected to bob but not a party of alice's task.
    const carol = await addParty(relay, "carol", "x", true);
    await connectAgents(carol.agent, carol.session, c.bob, c.b);
    for (const type of ["task_cancel", "task_complete"] as const) {
      const env = await seal(carol.agent, [c.bob], type, {}, {
        device_id: carol.session.deviceId,
        task_id: taskId,
      });
      await expectRefused(relay, carol.session, env, "task_role");
    }
    // bob, the worker, cannot address his task event to someone other than the requester.
    const wrongPeer = await seal(c.bob, [carol.agent], "task_accept", {}, {
      device_id: c.b.deviceId,
      task_id: taskId,
    });
    await expectRefused(relay, c.b, wrongPeer, "task_role");
    // Drain bob's queue up to the fence: the task_request, carol's connection_request, fence.
    const env = await seal(c.alice, [c.bob], "message", { text: "fence" }, {
      device_id: c.a.deviceId,
    });
    await expectAccepted(c.a, env);
    const got = await takeDeliveries(c.b, 3, { ack: true });
    assertEquals(got[2]!.id, env.id);
    assertEquals(
      (await relay.relay.store.getTask(taskId))?.snapshot.state,
      "requested",
      "refused events changed nothing",
    );
  });
});

Deno.test("refusal: illegal_transition (complete before an artifact; task_id reused)", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const { taskId, env: request } = await openTask(c);
    const complete = await seal(c.alice, [c.bob], "task_complete", {}, {
      device_id: c.a.deviceId,
      task_id: taskId,
    });
    await expectRefused(relay, c.a, complete, "illegal_transition");
    const again = await seal(c.alice, [c.bob], "task_request", {
      title: "again",
      instructions: "x",
    }, { device_id: c.a.deviceId, task_id: taskId });
    await expectRefused(relay, c.a, again, "illegal_transition");
    // Accepted, still no artifact: completing is illegal; accepting twice is illegal.
    const accept = await seal(c.bob, [c.alice], "task_accept", {}, {
      device_id: c.b.deviceId,
      task_id: taskId,
    });
    await expectAccepted(c.b, accept);
    const complete2 = await seal(c.alice, [c.bob], "task_complete", {}, {
      device_id: c.a.deviceId,
      task_id: taskId,
    });
    await expectRefused(relay, c.a, complete2, "illegal_transition");
    const accept2 = await seal(c.bob, [c.alice], "task_accept", {}, {
      device_id: c.b.deviceId,
      task_id: taskId,
    });
    await expectRefused(relay, c.b, accept2, "illegal_transition");
    assertEquals((await relay.relay.store.getTask(taskId))?.snapshot.state, "accepted");
    const [got] = await takeDeliveries(c.b, 1, { ack: true });
    assertEquals(got!.id, request.id);
    await c.a.next((f) => f.type === "receipt" && f.receipt.id === request.id);
    await fenceAB(c);
  });
});

Deno.test("refusal: task_not_found (event for a task the relay never saw)", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const env = await seal(c.bob, [c.alice], "task_accept", {}, {
      device_id: c.b.deviceId,
      task_id: newId("task"),
    });
    await expectRefused(relay, c.b, env, "task_not_found");
    await fenceBA(c);
  });
});

Deno.test("refusal: too_many_open_tasks (max_open_tasks=1), freed by a terminal state", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const set = await setPermissions(relay, c.bobToken, c.bob, c.alice, { max_open_tasks: 1 });
    assertEquals(set.status, 200);
    const { taskId } = await openTask(c);
    const second = await seal(c.alice, [c.bob], "task_request", {
      title: "second",
      instructions: "x",
    }, { device_id: c.a.deviceId, task_id: newId("task") });
    await expectRefused(relay, c.a, second, "too_many_open_tasks");
    const [first] = await takeDeliveries(c.b, 1, { ack: true });
    await c.a.next((f) => f.type === "receipt" && f.receipt.id === first!.id);
    await fenceAB(c);
    // Cancelling the first task frees the slot.
    const cancel = await seal(c.alice, [c.bob], "task_cancel", {}, {
      device_id: c.a.deviceId,
      task_id: taskId,
    });
    await expectAccepted(c.a, cancel);
    await expectAccepted(c.a, second);
  });
});

Deno.test("refusal: connection_not_pending (no request; self-approval; wrong reply_to)", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const carol = await addParty(relay, "carol", "x", true);
    // carol never asked alice: alice cannot "accept" carol.
    const unasked = await seal(c.alice, [carol.agent], "connection_accept", {
      request_id: newId("msg"),
    }, { device_id: c.a.deviceId, reply_to: newId("msg") });
    await expectRefused(relay, c.a, unasked, "connection_not_pending");

    // A fresh alice agent with no connection to bob asks for one...
    const solo = await registerAgent(relay, c.aliceToken, "alice", "solo");
    const req = await seal(solo, [c.bob], "connection_request", {}, { device_id: c.a.deviceId });
    await expectAccepted(c.a, req);
    // ...and then tries to approve her own request.
    const self = await seal(solo, [c.bob], "connection_accept", { request_id: req.id }, {
      device_id: c.a.deviceId,
      reply_to: req.id,
    });
    await expectRefused(relay, c.a, self, "connection_not_pending");
    const selfDecline = await seal(solo, [c.bob], "connection_decline", { request_id: req.id }, {
      device_id: c.a.deviceId,
      reply_to: req.id,
    });
    await expectRefused(relay, c.a, selfDecline, "connection_not_pending");
    const stillNot = await seal(solo, [c.bob], "message", { text: "am I in?" }, {
      device_id: c.a.deviceId,
    });
    await expectRefused(relay, c.a, stillNot, "not_connected");
    assertEquals(await relay.relay.store.getLink(solo.handle, c.bob.handle), null);

    // bob answering with the wrong reply_to (or none) is refused too.
    const wrong = await seal(c.bob, [solo], "connection_accept", { request_id: req.id }, {
      device_id: c.b.deviceId,
      reply_to: newId("msg"),
    });
    await expectRefused(relay, c.b, wrong, "connection_not_pending");
    const none = await seal(c.bob, [solo], "connection_accept", { request_id: req.id }, {
      device_id: c.b.deviceId,
    });
    await expectRefused(relay, c.b, none, "connection_not_pending");

    // bob's real answer works once; answering again finds nothing pending.
    const ok = await seal(c.bob, [solo], "connection_accept", { request_id: req.id }, {
      device_id: c.b.deviceId,
      reply_to: req.id,
    });
    await expectAccepted(c.b, ok);
    const twice = await seal(c.bob, [solo], "connection_accept", { request_id: req.id }, {
      device_id: c.b.deviceId,
      reply_to: req.id,
    });
    await expectRefused(relay, c.b, twice, "connection_not_pending");
    await expectAccepted(c.a, stillNot);
  });
});

/**
 * Sends fresh envelopes from `make()` until one is refused; returns how many were accepted.
 * The limiter weighs the previous minute, so a run that crosses a minute boundary may let one
 * more through: callers accept `limit` or `limit + 1`.
 */
async function sendUntilRefused(
  relay: TestRelay,
  session: SimSession,
  make: () => Promise<Envelope>,
  code: string,
  max: number,
) {
  for (let accepted = 0; accepted <= max; accepted++) {
    const env = await make();
    const before = await relay.relay.store.stats();
    const answer = await session.send(env);
    if (answer.type === "accepted") continue;
    assertEquals(answerCode(answer), code, JSON.stringify(answer));
    const after = await relay.relay.store.stats();
    assertEquals(after.envelopes, before.envelopes);
    assertEquals(await relay.relay.store.envelopeExists(env.id), false);
    return accepted;
  }
  throw new Error(`no ${code} after ${max + 1} envelopes`);
}

function assertLimit(accepted: number, limit: number) {
  assert(
    accepted === limit || accepted === limit + 1,
    `expected ${limit} accepted before the refusal, got ${accepted}`,
  );
}

Deno.test("refusal: rate_limited by the connection's max_rate_per_minute", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const set = await setPermissions(relay, c.bobToken, c.bob, c.alice, {
      max_rate_per_minute: 3,
    });
    assertEquals(set.status, 200);
    const accepted = await sendUntilRefused(relay, c.a, () => msg(c), "rate_limited", 6);
    assertLimit(accepted, 3);
    // Other directions keep their own budgets.
    await fenceBA(c);
  });
});

Deno.test("refusal: rate_limited per link even in a multi-recipient envelope", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    const carol = await addParty(relay, "carol", "x", true);
    await connectAgents(c.alice, c.a, carol.agent, carol.session);
    const set = await setPermissions(relay, c.bobToken, c.bob, c.alice, {
      max_rate_per_minute: 1,
    });
    assertEquals(set.status, 200);
    const toBob = () => msg(c);
    assertLimit(await sendUntilRefused(relay, c.a, toBob, "rate_limited", 3), 1);
    // bob's budget is spent: an envelope to [bob, carol] must be refused whatever the order.
    for (const to of [[c.bob, carol.agent], [carol.agent, c.bob]]) {
      const env = await seal(c.alice, to, "message", { text: "both" }, {
        device_id: c.a.deviceId,
      });
      await expectRefused(relay, c.a, env, "rate_limited");
    }
    // carol alone is still fine.
    const toCarol = await seal(c.alice, [carol.agent], "message", { text: "c" }, {
      device_id: c.a.deviceId,
    });
    await expectAccepted(c.a, toCarol);
  });
});

Deno.test("refusal: rate_limited by clientRatePerMinute (all of a client's envelopes)", async () => {
  // connectedPair spends one of alice's envelopes (her connection_request).
  await withRelay({ clientRatePerMinute: 4 }, async (relay) => {
    const c = await connectedPair(relay);
    const ctx = { relay, ...c } as Ctx;
    const accepted = await sendUntilRefused(relay, c.a, () => msg(ctx), "rate_limited", 6);
    assertLimit(accepted, 3);
    // bob's client has its own budget.
    const env = await seal(c.bob, [c.alice], "message", { text: "b" }, {
      device_id: c.b.deviceId,
    });
    await expectAccepted(c.b, env);
  });
});

Deno.test("refusal: rate_limited by connectionRequestsPerMinute", async () => {
  await withRelay({ connectionRequestsPerMinute: 2 }, async (relay) => {
    const c = await setup(relay);
    const carol = await addParty(relay, "carol", "x", true);
    const make = () =>
      seal(c.alice, [carol.agent], "connection_request", {}, { device_id: c.a.deviceId });
    // connectedPair already spent one of alice's connection requests.
    assertLimit(await sendUntilRefused(relay, c.a, make, "rate_limited", 4), 1);
    // Ordinary messages are not connection requests.
    await fenceAB(c);
  });
});

Deno.test("frames: non-JSON → invalid_json and the socket stays usable; bad frames → bad_request", async () => {
  await withRelay({}, async (relay) => {
    const c = await setup(relay);
    c.a.raw("this is not json");
    const e1 = await c.a.next((f) => f.type === "error");
    assert(e1.type === "error");
    assertEquals(e1.code, "invalid_json");
    c.a.raw({ type: "teleport" });
    const e2 = await c.a.next((f) => f.type === "error");
    assert(e2.type === "error");
    assertEquals(e2.code, "bad_request");
    c.a.raw({ type: "ack", seq: "one" });
    const e3 = await c.a.next((f) => f.type === "error");
    assert(e3.type === "error");
    assertEquals(e3.code, "bad_request");
    c.a.raw([1, 2, 3]);
    const e4 = await c.a.next((f) => f.type === "error");
    assert(e4.type === "error");
    assertEquals(e4.code, "bad_request");
    c.a.raw({ type: "hello", client_id: "alice", token: c.aliceToken, device_id: c.a.deviceId });
    const e5 = await c.a.next((f) => f.type === "error");
    assert(e5.type === "error");
    assertEquals(e5.code, "bad_request");
    c.a.raw({ type: "ping" });
    await c.a.next((f) => f.type === "pong");
    await fenceAB(c);
    assertEquals(c.a.ws.readyState, WebSocket.OPEN);
  });
});
