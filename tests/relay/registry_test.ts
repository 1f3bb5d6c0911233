/**
 * The relay's HTTP registry (design §4): registration with proof of possession, namespaces,
 * key rotation signed by the old key, private/public visibility, invites, and the error shape
 * of every refusal (`{error: {code, message}}`, never a stack trace).
 */
import { assert, assertEquals } from "../assert.ts";
import {
  encodeBase64Url,
  generateAgentKeys,
  registrationInput,
  rotationInput,
  sign,
} from "../../lib/protocol/mod.ts";
import {
  api,
  type ApiResponse,
  postRegistration,
  registerAgent,
  type SimAgent,
  type TestRelay,
  withRelay,
} from "./sim.ts";

/** Asserts a catalogue error answer: status, code, the exact shape, no internals. */
function assertError(res: ApiResponse, status: number, code: string) {
  assertEquals(res.status, status, `${code}: ${res.text}`);
  assert(/^application\/json/.test(res.headers.get("content-type") ?? ""), "JSON errors");
  assertEquals(res.body?.error?.code, code, res.text);
  assertEquals(typeof res.body.error.message, "string");
  assert(res.body.error.message.length > 0);
  assertEquals(Object.keys(res.body), ["error"]);
  for (const key of Object.keys(res.body.error)) {
    assert(["code", "message", "details"].includes(key), `unexpected error field ${key}`);
  }
  assert(!/stack|\bat .*\.(ts|js):\d+|file:\/\//i.test(res.text), `leaks internals: ${res.text}`);
}

function publicKeys(agent: SimAgent) {
  return {
    signing_public_key: encodeBase64Url(agent.keys.signing.publicKey),
    encryption_public_key: encodeBase64Url(agent.keys.encryption.publicKey),
  };
}

/** Three clients: alice, bob (owner of @bob/writer, private unless told), carol. */
async function parties(relay: TestRelay, bobPublic = false) {
  const aliceToken = await relay.addClient("alice");
  const bobToken = await relay.addClient("bob");
  const carolToken = await relay.addClient("carol");
  const bob = await registerAgent(relay, bobToken, "bob", "writer", { public: bobPublic });
  return { aliceToken, bobToken, carolToken, bob };
}

Deno.test("registry: register → 201, the same registration again → 200", async () => {
  await withRelay({}, async (relay) => {
    const token = await relay.addClient("alice");
    const keys = await generateAgentKeys();
    const first = await postRegistration(relay, token, "alice", "@alice/writer", keys);
    assertEquals(first.status, 201);
    const body = await first.json();
    const again = await postRegistration(relay, token, "alice", "@alice/writer", keys);
    assertEquals(again.status, 200);
    const body2 = await again.json();
    assertEquals(body2.handle, "@alice/writer");
    assertEquals(body2.signing_public_key, encodeBase64Url(keys.signing.publicKey));
    assertEquals(body2.fingerprint, body.fingerprint);
    assertEquals(body2.created_at, body.created_at);
    assertEquals(/^[0-9a-f]{4}(-[0-9a-f]{4}){7}$/.test(body.fingerprint), true);
    // The answer shows public keys and profile only: nothing about the client's credentials.
    assertEquals(Object.keys(body).sort(), [
      "created_at",
      "encryption_public_key",
      "fingerprint",
      "handle",
      "profile",
      "public",
      "signing_public_key",
      "updated_at",
    ]);
    assertEquals((await relay.relay.store.stats()).agents, 1);
  });
});

Deno.test("registry: a handle outside the client's namespace → 403 handle_not_owned", async () => {
  await withRelay({}, async (relay) => {
    const { aliceToken } = await parties(relay);
    const keys = await generateAgentKeys();
    // Unregistered and registered handles of another namespace get the same answer, so the
    // refusal does not reveal whether a (possibly private) handle exists.
    for (const handle of ["@bob/other", "@bob/writer"]) {
      const res = await postRegistration(relay, aliceToken, "alice", handle, keys);
      assertError(await asApi(res), 403, "handle_not_owned");
    }
    assertEquals(await relay.relay.store.getAgent("@bob/other"), null);
  });
});

Deno.test("registry: a handle bound to another client → 409 handle_taken", async () => {
  await withRelay({}, async (relay) => {
    const { aliceToken, bob } = await parties(relay);
    // A handle in alice's namespace bound to client bob (e.g. imported by the operator).
    const stored = await relay.relay.store.getAgent(bob.handle);
    await relay.relay.store.putAgent({ ...stored!, handle: "@alice/legacy" });
    const res = await postRegistration(
      relay,
      aliceToken,
      "alice",
      "@alice/legacy",
      await generateAgentKeys(),
    );
    assertError(await asApi(res), 409, "handle_taken");
    assertEquals((await relay.relay.store.getAgent("@alice/legacy"))?.client_id, "bob");
  });
});

Deno.test("registry: a proof by another key, or for another client → 401 bad_proof", async () => {
  await withRelay({}, async (relay) => {
    const token = await relay.addClient("alice");
    const keys = await generateAgentKeys();
    const other = await generateAgentKeys();
    const res = await postRegistration(relay, token, "alice", "@alice/x", keys, {
      proofKeys: other,
    });
    assertError(await asApi(res), 401, "bad_proof");
    // A valid signature, but over a registration for a different client.
    const pub = publicKeys({ handle: "@alice/x", keys });
    const proof = await sign(keys.signing.privateKey, registrationInput("@alice/x", pub, "bob"));
    const res2 = await api(relay, "POST", "/v1/agents", {
      token,
      body: { handle: "@alice/x", ...pub, proof: encodeBase64Url(proof) },
    });
    assertError(res2, 401, "bad_proof");
    assertEquals(await relay.relay.store.getAgent("@alice/x"), null);
  });
});

Deno.test("registry: key rotation needs a `rotation` signature by the old key", async () => {
  await withRelay({}, async (relay) => {
    const token = await relay.addClient("alice");
    const old = await registerAgent(relay, token, "alice", "writer", { public: true });
    const fresh = await generateAgentKeys();
    const next: SimAgent = { handle: old.handle, keys: fresh };
    const newPub = publicKeys(next);

    const unsigned = await postRegistration(relay, token, "alice", old.handle, fresh);
    assertError(await asApi(unsigned), 403, "rotation_not_signed");
    // Signed by the new key instead of the old one.
    const byNew = await sign(fresh.signing.privateKey, rotationInput(old.handle, newPub));
    const wrong = await postRegistration(relay, token, "alice", old.handle, fresh, {
      rotation: encodeBase64Url(byNew),
    });
    assertError(await asApi(wrong), 403, "rotation_not_signed");
    // Signed by the old key, but over other keys.
    const otherPub = publicKeys({ handle: old.handle, keys: await generateAgentKeys() });
    const overOther = await sign(old.keys.signing.privateKey, rotationInput(old.handle, otherPub));
    const wrong2 = await postRegistration(relay, token, "alice", old.handle, fresh, {
      rotation: encodeBase64Url(overOther),
    });
    assertError(await asApi(wrong2), 403, "rotation_not_signed");
    const served = await api(relay, "GET", `/v1/agents/${old.handle}`);
    assertEquals(served.body.signing_public_key, publicKeys(old).signing_public_key);

    const rotation = await sign(old.keys.signing.privateKey, rotationInput(old.handle, newPub));
    const ok = await postRegistration(relay, token, "alice", old.handle, fresh, {
      rotation: encodeBase64Url(rotation),
    });
    assertEquals(ok.status, 200);
    await ok.body?.cancel();
    const after = await api(relay, "GET", `/v1/agents/${old.handle}`);
    assertEquals(after.status, 200);
    assertEquals(after.body.signing_public_key, newPub.signing_public_key);
    assertEquals(after.body.encryption_public_key, newPub.encryption_public_key);
    // Going back to the old keys is a rotation too, and the old key no longer signs for it.
    const back = await sign(
      old.keys.signing.privateKey,
      rotationInput(old.handle, publicKeys(old)),
    );
    const rollback = await postRegistration(relay, token, "alice", old.handle, old.keys, {
      rotation: encodeBase64Url(back),
    });
    assertError(await asApi(rollback), 403, "rotation_not_signed");
  });
});

Deno.test("registry: a private agent is visible to its owner and invitees only", async () => {
  await withRelay({}, async (relay) => {
    const { aliceToken, bobToken, carolToken, bob } = await parties(relay);
    const path = `/v1/agents/${bob.handle}`;
    assertError(await api(relay, "GET", path), 404, "unknown_agent");
    assertError(await api(relay, "GET", path, { token: aliceToken }), 404, "unknown_agent");
    // The same answer as for a handle that does not exist at all.
    assertError(await api(relay, "GET", "/v1/agents/@bob/ghost"), 404, "unknown_agent");
    const own = await api(relay, "GET", path, { token: bobToken });
    assertEquals(own.status, 200);
    assertEquals(own.body.handle, bob.handle);
    assertEquals(own.body.public, false);
    // The encoded single-segment form names the same agent.
    const encoded = await api(relay, "GET", `/v1/agents/${encodeURIComponent(bob.handle)}`, {
      token: bobToken,
    });
    assertEquals(encoded.status, 200);
    assertEquals(encoded.body.handle, bob.handle);
    const dir = await api(relay, "GET", "/v1/directory");
    assertEquals(dir.body.agents, []);

    const invite = await api(relay, "POST", "/v1/invites", {
      token: bobToken,
      body: { agent: bob.handle },
    });
    assertEquals(invite.status, 201);
    assertEquals(invite.body.agent, bob.handle);
    assertEquals(invite.body.fingerprint, own.body.fingerprint);
    assert(invite.body.url.endsWith(`/invite/${invite.body.code}`));
    // An anonymous look-up shows the agent but grants nothing.
    const anon = await api(relay, "GET", `/v1/invites/${invite.body.code}`);
    assertEquals(anon.status, 200);
    assertEquals(anon.body.agent.handle, bob.handle);
    assertError(await api(relay, "GET", path), 404, "unknown_agent");
    // carol's authenticated look-up redeems it: carol may now see bob; alice still may not.
    const redeem = await api(relay, "GET", `/v1/invites/${invite.body.code}`, {
      token: carolToken,
    });
    assertEquals(redeem.status, 200);
    assertEquals((await api(relay, "GET", path, { token: carolToken })).status, 200);
    assertError(await api(relay, "GET", path, { token: aliceToken }), 404, "unknown_agent");
  });
});

Deno.test("registry: a public agent is visible to everyone and listed in the directory", async () => {
  await withRelay({}, async (relay) => {
    const { aliceToken, bobToken, bob } = await parties(relay, true);
    await registerAgent(relay, bobToken, "bob", "hidden");
    for (const token of [undefined, aliceToken, bobToken]) {
      const res = await api(relay, "GET", `/v1/agents/${bob.handle}`, token ? { token } : {});
      assertEquals(res.status, 200);
      assertEquals(res.body.public, true);
    }
    const dir = await api(relay, "GET", "/v1/directory");
    assertEquals(dir.status, 200);
    assertEquals(dir.body.agents.map((a: { handle: string }) => a.handle), [bob.handle]);
    // A revoked client's agents leave the directory.
    await relay.relay.store.revokeClient("bob", Date.now());
    assertEquals((await api(relay, "GET", "/v1/directory")).body.agents, []);
  });
});

Deno.test("registry: invites — owner only, expiry, revocation, max_uses", async () => {
  await withRelay({}, async (relay) => {
    const { aliceToken, bobToken, carolToken, bob } = await parties(relay);
    const daveToken = await relay.addClient("dave");
    // Only the agent's owner may invite to it.
    const foreign = await api(relay, "POST", "/v1/invites", {
      token: aliceToken,
      body: { agent: bob.handle },
    });
    assertError(foreign, 403, "handle_not_owned");
    const ghost = await api(relay, "POST", "/v1/invites", {
      token: bobToken,
      body: { agent: "@bob/ghost" },
    });
    assertError(ghost, 403, "handle_not_owned");
    const tooShort = await api(relay, "POST", "/v1/invites", {
      token: bobToken,
      body: { agent: bob.handle, ttl_seconds: 1 },
    });
    assertError(tooShort, 400, "validation_failed");
    assertError(await api(relay, "GET", "/v1/invites/nope"), 404, "invite_not_found");

    // Expired (written directly: the API's smallest ttl is a minute).
    const now = Date.now();
    await relay.relay.store.createInvite({
      code: "expired-code",
      agent: bob.handle,
      client_id: "bob",
      created_at: now - 120_000,
      expires_at: now - 1,
      revoked: false,
      uses: 0,
      max_uses: null,
    });
    const expired = await api(relay, "GET", "/v1/invites/expired-code", { token: aliceToken });
    assertError(expired, 410, "invite_expired");
    assertEquals(await relay.relay.store.hasGrant("alice", bob.handle), false);

    // Revoked by its owner (only its owner).
    const inv = await api(relay, "POST", "/v1/invites", {
      token: bobToken,
      body: { agent: bob.handle },
    });
    assertEquals(inv.status, 201);
    const notMine = await api(relay, "DELETE", `/v1/invites/${inv.body.code}`, {
      token: aliceToken,
    });
    assertError(notMine, 404, "invite_not_found");
    const del = await api(relay, "DELETE", `/v1/invites/${inv.body.code}`, { token: bobToken });
    assertEquals(del.status, 200);
    assertEquals(del.body, { revoked: true });
    const gone = await api(relay, "GET", `/v1/invites/${inv.body.code}`, { token: aliceToken });
    assertError(gone, 410, "invite_expired");
    assertEquals(await relay.relay.store.hasGrant("alice", bob.handle), false);

    // max_uses: one client redeems, the next is refused and sees nothing.
    const once = await api(relay, "POST", "/v1/invites", {
      token: bobToken,
      body: { agent: bob.handle, max_uses: 1, ttl_seconds: 60 },
    });
    assertEquals(once.status, 201);
    const code = once.body.code;
    // The owner's own look-up does not count as a use.
    assertEquals((await api(relay, "GET", `/v1/invites/${code}`, { token: bobToken })).status, 200);
    assertEquals(
      (await api(relay, "GET", `/v1/invites/${code}`, { token: carolToken })).status,
      200,
    );
    assertError(
      await api(relay, "GET", `/v1/invites/${code}`, { token: daveToken }),
      410,
      "invite_expired",
    );
    assertEquals((await relay.relay.store.getInvite(code))?.uses, 1);
    assertEquals(await relay.relay.store.hasGrant("carol", bob.handle), true);
    assertEquals(await relay.relay.store.hasGrant("dave", bob.handle), false);
    const path = `/v1/agents/${bob.handle}`;
    assertError(await api(relay, "GET", path, { token: daveToken }), 404, "unknown_agent");
  });
});

Deno.test("registry: bodies — invalid JSON 400, wrong type 415, too large 413, schema 400", async () => {
  await withRelay({}, async (relay) => {
    const token = await relay.addClient("alice");
    const post = (init: { rawBody: string; headers?: Record<string, string> }) =>
      api(relay, "POST", "/v1/agents", { token, ...init });
    assertError(
      await post({ rawBody: "{not json", headers: { "content-type": "application/json" } }),
      400,
      "invalid_json",
    );
    assertError(
      await post({ rawBody: "handle=@alice/x", headers: { "content-type": "text/plain" } }),
      415,
      "unsupported_media_type",
    );
    assertError(await post({ rawBody: "{}" }), 415, "unsupported_media_type");
    const huge = JSON.stringify({ handle: "@alice/x", pad: "x".repeat(40_000) });
    assertError(
      await post({ rawBody: huge, headers: { "content-type": "application/json" } }),
      413,
      "body_too_large",
    );
    // Streamed without a Content-Length: the limit holds while reading.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode("x".repeat(4096)));
        controller.close();
      },
    });
    const streamed = await fetch(`${relay.url}/v1/agents`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: stream,
    });
    assertError(await asApi(streamed), 413, "body_too_large");
    const invalid = await api(relay, "POST", "/v1/agents", {
      token,
      body: { handle: "@alice/x", extra: true },
    });
    assertError(invalid, 400, "validation_failed");
    const badHandle = await api(relay, "POST", "/v1/agents", { token, body: { handle: "Alice" } });
    assertError(badHandle, 400, "validation_failed");
    assertEquals((await relay.relay.store.stats()).agents, 0);
  });
});

Deno.test("registry: missing or invalid Authorization → 401 unauthorized", async () => {
  await withRelay({}, async (relay) => {
    const token = await relay.addClient("alice");
    const keys = await generateAgentKeys();
    const body = { handle: "@alice/x", ...publicKeys({ handle: "@alice/x", keys }) };
    const cases: Record<string, string>[] = [
      {},
      { authorization: "" },
      { authorization: `Basic ${btoa("alice:secret")}` },
      { authorization: "Bearer" },
      { authorization: "Bearer garbage" },
      { authorization: `Bearer ${token}x` },
      { authorization: `Bearer ${token.replace("tfr.alice.", "tfr.bob.")}` },
    ];
    for (const headers of cases) {
      for (
        const [method, path] of [
          ["POST", "/v1/agents"],
          ["POST", "/v1/invites"],
          ["DELETE", "/v1/invites/abc"],
          ["PUT", "/v1/permissions"],
        ] as const
      ) {
        const res = await api(relay, method, path, { body, headers });
        assertError(res, 401, "unauthorized");
        assert(!res.text.includes(token), "the token is not echoed");
      }
      // Optional-auth routes refuse bad credentials rather than ignore them.
      if (headers.authorization) {
        assertError(
          await api(relay, "GET", "/v1/agents/@alice/x", { headers }),
          401,
          "unauthorized",
        );
      }
    }
  });
});

Deno.test("registry: bad paths and routes answer in the catalogue shape, never 500", async () => {
  await withRelay({}, async (relay) => {
    const token = await relay.addClient("alice");
    await registerAgent(relay, token, "alice", "pub", { public: true });
    assertError(await api(relay, "GET", "/v1/nothing-here"), 404, "not_found");
    assertError(await api(relay, "GET", "/v1/agents/not-a-handle"), 400, "invalid_handle");
    assertError(await api(relay, "GET", "/v1/agents/%25zz"), 400, "invalid_handle");
    // Decoded once only: a double-encoded handle is not the handle.
    const twice = encodeURIComponent(encodeURIComponent("@alice/pub"));
    assertError(await api(relay, "GET", `/v1/agents/${twice}`), 400, "invalid_handle");
    assertError(await api(relay, "GET", "/v1/agents/@Alice/pub"), 400, "invalid_handle");
    const ws = await api(relay, "GET", "/v1/ws");
    assertError(ws, 400, "bad_request");
    const perms = await api(relay, "PUT", "/v1/permissions", {
      token,
      body: {
        agent: "@alice/pub",
        peer: "@bob/x",
        permissions: {
          can_message: true,
          can_send_task: true,
          can_send_artifact: true,
          max_rate_per_minute: 10,
          max_open_tasks: 1,
          require_human_gate: false,
        },
      },
    });
    assertError(perms, 403, "not_connected");
    const partial = await api(relay, "PUT", "/v1/permissions", {
      token,
      body: { agent: "@alice/pub", peer: "@bob/x", permissions: { can_message: false } },
    });
    assertError(partial, 400, "validation_failed");
  });
});

/** Wraps a raw fetch Response in the {@link ApiResponse} shape. */
async function asApi(res: Response): Promise<ApiResponse> {
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, text, body };
}
