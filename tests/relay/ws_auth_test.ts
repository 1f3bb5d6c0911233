/**
 * WebSocket authentication (design §7): the first frame is `hello` with client id and token,
 * never a URL query; anything else closes the socket with 4001. A newer session of the same
 * client replaces the older one (4002).
 */
import { assert, assertEquals } from "../assert.ts";
import { CLOSE_CODES, newId } from "../../lib/protocol/mod.ts";
import { hashToken } from "../../lib/relay/mod.ts";
import {
  api,
  connectedPair,
  RawSocket,
  seal,
  SimSession,
  takeDeliveries,
  type TestRelay,
  withRelay,
} from "./sim.ts";

/** Opens a raw socket, sends `first` (if given) and expects: one error frame, then 4001. */
async function expectClosed(relay: TestRelay, first: unknown, code = "unauthorized") {
  const ws = new RawSocket(relay);
  assert(await ws.opened, "the upgrade itself succeeds");
  if (first !== undefined) ws.send(first);
  const closed = await ws.closed;
  assertEquals(closed.code, CLOSE_CODES.unauthorized);
  assertEquals(ws.frames.length, 1, JSON.stringify(ws.frames));
  assertEquals(ws.frames[0]!.type, "error");
  assertEquals(ws.frames[0]!.code, code);
  assert(!relay.relay.isConnected("alice"), "no session was registered");
  return ws;
}

function hello(clientId: string, token: string, extra: Record<string, unknown> = {}) {
  return { type: "hello", client_id: clientId, token, device_id: newId("dev"), ...extra };
}

Deno.test("ws auth: no hello within helloTimeoutMs → error frame and close 4001", async () => {
  await withRelay({ helloTimeoutMs: 200 }, async (relay) => {
    await relay.addClient("alice");
    const started = Date.now();
    await expectClosed(relay, undefined);
    assert(Date.now() - started >= 150, "closed by the hello timer, not at once");
  });
});

Deno.test("ws auth: a first frame that is not hello closes the socket", async () => {
  await withRelay({}, async (relay) => {
    await relay.addClient("alice");
    await expectClosed(relay, { type: "ping" });
    await expectClosed(relay, { type: "send", envelope: {} });
    await expectClosed(relay, "not json at all");
    await expectClosed(relay, { type: "ack", seq: 1 });
  });
});

Deno.test("ws auth: wrong, malformed or foreign tokens close the socket", async () => {
  await withRelay({}, async (relay) => {
    const token = await relay.addClient("alice");
    await relay.addClient("bob");
    const secret = token.slice(token.lastIndexOf(".") + 1);
    const wrong = token.slice(0, token.lastIndexOf(".") + 1) +
      (secret[0] === "A" ? "B" : "A") + secret.slice(1);
    await expectClosed(relay, hello("alice", wrong));
    await expectClosed(relay, hello("alice", "tfr.alice.short"));
    await expectClosed(relay, hello("alice", "not-a-token"));
    // A well-formed token for a client the relay does not know.
    await expectClosed(relay, hello("mallory", token.replace("tfr.alice.", "tfr.mallory.")));
    // client_id must be the token's client.
    await expectClosed(relay, hello("bob", token));
    // A hello that does not match the schema is a bad request (and still closes).
    await expectClosed(relay, hello("alice", token, { device_id: "laptop" }), "bad_request");
    await expectClosed(relay, hello("alice", token, { extra: 1 }), "bad_request");
    // The right token still works afterwards.
    const ok = await SimSession.connect(relay, "alice", token);
    assert(relay.relay.isConnected("alice"));
    ok.close();
  });
});

Deno.test("ws auth: a revoked client cannot connect", async () => {
  await withRelay({}, async (relay) => {
    const token = await relay.addClient("alice");
    assert(await relay.relay.store.revokeClient("alice", Date.now()));
    await expectClosed(relay, hello("alice", token), "client_revoked");
    const http = await api(relay, "GET", "/v1/directory", { token });
    assertEquals(http.status, 200, "the directory is public");
    const reg = await api(relay, "POST", "/v1/agents", { token, body: {} });
    assertEquals(reg.status, 401);
    assertEquals(reg.body.error.code, "client_revoked");
  });
});

Deno.test("ws auth: revoking a client ends its live session", async () => {
  await withRelay({}, async (relay) => {
    const { alice, bob, a } = await connectedPair(relay);
    // Revoked out of band (the CLI's `relay revoke-client` writes the store directly).
    assert(await relay.relay.store.revokeClient("alice", Date.now()));
    const before = await relay.relay.store.stats();
    const env = await seal(alice, [bob], "message", { text: "after revocation" }, {
      device_id: a.deviceId,
    });
    const answer = await a.send(env);
    assert(answer.type === "error");
    assertEquals(answer.code, "client_revoked");
    assertEquals((await a.closed).code, CLOSE_CODES.unauthorized);
    assertEquals(await relay.relay.store.envelopeExists(env.id), false);
    assertEquals((await relay.relay.store.stats()).envelopes, before.envelopes);
  });
});

Deno.test("ws auth: rotating a client's token ends sessions opened with the old one", async () => {
  await withRelay({}, async (relay) => {
    const { alice, bob, a } = await connectedPair(relay);
    assert(await relay.relay.store.setClientToken("alice", await hashToken("tfr.alice.new")));
    const env = await seal(alice, [bob], "message", { text: "after rotation" }, {
      device_id: a.deviceId,
    });
    const answer = await a.send(env);
    assert(answer.type === "error");
    assertEquals(answer.code, "unauthorized");
    assertEquals((await a.closed).code, CLOSE_CODES.unauthorized);
    assertEquals(await relay.relay.store.envelopeExists(env.id), false);
  });
});

Deno.test("ws auth: a token in the URL is refused with 400 bad_request", async () => {
  await withRelay({}, async (relay) => {
    const token = await relay.addClient("alice");
    for (
      const path of [
        `/v1/ws?token=${token}`,
        `/v1/ws?access_token=${token}`,
        `/health?token=${token}`,
        `/v1/directory?token=x`,
        `/v1/agents/@alice/x?access_token=x`,
      ]
    ) {
      const res = await api(relay, "GET", path);
      assertEquals(res.status, 400, path);
      assertEquals(res.body.error.code, "bad_request", path);
      assert(/URL/.test(res.body.error.message), res.body.error.message);
      assert(!res.text.includes(token), "the answer does not echo the token");
    }
    // A real WebSocket upgrade with the token in the query is refused too.
    const ws = new RawSocket(relay, `/v1/ws?token=${token}`);
    assertEquals(await ws.opened, false);
    await ws.closed;
    assert(!relay.relay.isConnected("alice"));
  });
});

Deno.test("ws auth: a second session of the same client replaces the first (4002)", async () => {
  await withRelay({}, async (relay) => {
    const { alice, bob, a, b, aliceToken } = await connectedPair(relay);
    const a2 = await SimSession.connect(relay, "alice", aliceToken);
    const closed = await a.closed;
    assertEquals(closed.code, CLOSE_CODES.replaced);
    assert(relay.relay.isConnected("alice"));
    assertEquals(relay.relay.connectedClients, 2);
    // The new session sends with its own device id...
    const env = await seal(alice, [bob], "message", { text: "from a2" }, {
      device_id: a2.deviceId,
    });
    assertEquals((await a2.send(env)).type, "accepted");
    // ...and the old device id is no longer the session's.
    const stale = await seal(alice, [bob], "message", { text: "stale" }, {
      device_id: a.deviceId,
    });
    const refused = await a2.send(stale);
    assert(refused.type === "error");
    assertEquals(refused.code, "device_mismatch");
    // Deliveries for alice go to the new session (the connection_accept, then bob's message).
    const back = await seal(bob, [alice], "message", { text: "to a2" }, {
      device_id: b.deviceId,
    });
    assertEquals((await b.send(back)).type, "accepted");
    const got = await takeDeliveries(a2, 2, { ack: true });
    assertEquals(got[1]!.id, back.id);
  });
});
