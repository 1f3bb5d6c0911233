/**
 * Hostile input battery against a daemon: its loopback API (a local web page, a confused or
 * malicious local program) and what reaches its inbound pipeline (a malicious peer, or a
 * malicious relay that delivers whatever it likes — played by calling the pipeline the relay
 * link calls with each `deliver` frame).
 *
 * Every API case asserts the documented status and catalogue code, that both daemons and the
 * relay still answer their health routes, and that nothing changed in any of the three
 * databases (alice's and bob's client.db, relay.db: every table's row count and a digest of its
 * rows). Inbound cases assert exactly the documented change (a quarantine row, a `rejected`
 * message row) and nothing else. The cases are listed in docs/security.md.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  agentKeysFromPrivate,
  decodeBase64Url,
  type Envelope,
  type EnvelopeHeader,
  generateAgentKeys,
  type MessageType,
  newId,
  sealEnvelope,
} from "../../lib/protocol/mod.ts";
import { changedTables, rowDeltas, snapshotAll } from "../e2e/faults/db_snapshot.ts";
import { sealRaw } from "../e2e/faults/seal_raw.ts";
import { ALICE, BOB, dbRows, rawHttp } from "./helpers.ts";
import { eventually, join, startWorld, type World } from "./world.ts";

interface Outcome {
  status?: number;
  code?: string;
}

interface Case {
  name: string;
  expect: Outcome;
  run: () => Promise<Outcome>;
  /** Row-count changes this case is expected to make (`bob.quarantine`: 1); else none. */
  delta?: Record<string, number>;
  after?: () => Promise<void>;
}

const MB = 1024 * 1024;

function paths(w: World) {
  return {
    relay: w.relay.dbPath,
    alice: join(w.alice.home, "client.db"),
    bob: join(w.bob.home, "client.db"),
  };
}

/** Waits until nothing is in flight: relay queue and both outboxes empty. */
async function quiesce(w: World) {
  // Signed `delivered` receipts wait up to 200 ms in a batch before the outbox.
  const batched = () => [w.alice, w.bob].some((t) => !t.running.daemon.inbound.receipts.idle());
  // Checked in the direction things flow (batch → outbox → relay → stored, which may batch a
  // receipt), so nothing can slip between two checks unseen; and twice in a row.
  const still = async () => {
    if (batched()) return false;
    const [a, b] = await Promise.all([w.alice.api.health(), w.bob.api.health()]);
    if (a.counts.outbox_pending !== 0 || b.counts.outbox_pending !== 0) return false;
    const r = await (await fetch(`${w.relay.url}/health`)).json();
    return r.queue_depth === 0 && !batched();
  };
  await eventually(async () => await still() && await still());
}

async function battery(t: Deno.TestContext, w: World, cases: Case[]) {
  for (const c of cases) {
    await t.step(c.name, async () => {
      await quiesce(w);
      const before = snapshotAll(paths(w));
      const got = await c.run();
      const seen: Outcome = {};
      if (c.expect.status !== undefined) seen.status = got.status!;
      if (c.expect.code !== undefined) seen.code = got.code!;
      assertEquals(seen, c.expect, `${c.name}: answer`);
      // Everyone is still up.
      assertEquals((await w.alice.api.health()).status, "ok");
      assertEquals((await w.bob.api.health()).status, "ok");
      assertEquals((await fetch(`${w.relay.url}/health`).then((r) => r.json())).status, "ok");
      await quiesce(w);
      const after = snapshotAll(paths(w));
      if (c.delta) {
        assertEquals(rowDeltas(before, after), c.delta, `${c.name}: expected changes only`);
        const allowed = new Set(Object.keys(c.delta));
        const other = changedTables(before, after).filter((x) => !allowed.has(x.split(" ")[0]!));
        assertEquals(other, [], `${c.name}: unexpected changes`);
      } else {
        assertEquals(changedTables(before, after), [], `${c.name}: a database changed`);
      }
      await c.after?.();
    });
  }
}

/** A fetch against bob's API; `token` null sends no Authorization. */
async function call(
  w: World,
  path: string,
  init: {
    method?: string;
    body?: BodyInit | null;
    type?: string | null;
    token?: string | null;
    headers?: Record<string, string>;
    daemon?: "alice" | "bob";
  } = {},
): Promise<Outcome & { headers: Headers }> {
  const d = init.daemon === "alice" ? w.alice : w.bob;
  const headers: Record<string, string> = { ...init.headers };
  const token = init.token === undefined ? d.token : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined && init.type !== null) {
    headers["content-type"] = init.type ?? "application/json";
  }
  const res = await fetch(d.running.url + path, {
    method: init.method ?? (init.body !== undefined ? "POST" : "GET"),
    headers,
    body: init.body ?? null,
  });
  const text = await res.text();
  let code = "(none)";
  try {
    code = JSON.parse(text).error?.code ?? "(none)";
  } catch {
    // not JSON
  }
  return { status: res.status, code, headers: res.headers };
}

const json = (v: unknown) => JSON.stringify(v);

function apiCases(w: World, taskId: string, aliceMessageId: string): Case[] {
  const port = w.bob.port;
  const raw = async (host: string, extra: Record<string, string> = {}) => {
    const res = await rawHttp(port, "POST /v1/messages HTTP/1.1", {
      Host: host,
      Authorization: `Bearer ${w.bob.token}`,
      "Content-Type": "application/json",
      ...extra,
    }, json({ from: BOB, to: ALICE, text: "rebound" }));
    return { status: res.status, code: JSON.parse(res.text || "{}").error?.code };
  };
  const login = async () => {
    const res = await fetch(`${w.bob.running.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: json({ token: w.bob.token }),
    });
    const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
    const { csrf_token } = await res.json();
    return { cookie, csrf: csrf_token as string };
  };
  const message = json({ from: BOB, to: ALICE, text: "hostile" });
  return [
    {
      name: "API: foreign Host header",
      expect: { status: 403, code: "bad_host" },
      run: () => raw(`evil.example:${port}`),
    },
    {
      name: "API: DNS-rebinding Host (127.0.0.1.evil.example)",
      expect: { status: 403, code: "bad_host" },
      run: () => raw("127.0.0.1.evil.example"),
    },
    {
      name: "API: cross-site request (Sec-Fetch-Site: cross-site) even with the token",
      expect: { status: 403, code: "forbidden" },
      run: () =>
        call(w, "/v1/messages", { body: message, headers: { "sec-fetch-site": "cross-site" } }),
    },
    {
      name: "API: dashboard cookie without the CSRF token",
      expect: { status: 403, code: "forbidden" },
      run: async () => {
        const s = await login();
        return await call(w, "/v1/messages", {
          body: message,
          token: null,
          headers: { cookie: s.cookie },
        });
      },
    },
    {
      name: "API: dashboard cookie and CSRF token from a foreign Origin",
      expect: { status: 403, code: "forbidden" },
      run: async () => {
        const s = await login();
        return await call(w, "/v1/messages", {
          body: message,
          token: null,
          headers: { cookie: s.cookie, "x-csrf-token": s.csrf, origin: "https://evil.example" },
        });
      },
    },
    {
      name: "API: dashboard login from a foreign Origin",
      expect: { status: 403, code: "forbidden" },
      run: () =>
        call(w, "/login", {
          body: json({ token: w.bob.token }),
          token: null,
          headers: { origin: "https://evil.example" },
        }),
    },
    {
      name: "API: a dashboard session minting a login link",
      expect: { status: 401, code: "unauthorized" },
      run: async () => {
        const s = await login();
        return await call(w, "/v1/dashboard/login-links", {
          body: "{}",
          token: null,
          headers: { cookie: s.cookie, "x-csrf-token": s.csrf },
        });
      },
    },
    {
      name: "API: local token in the query string",
      expect: { status: 400, code: "bad_request" },
      run: () => call(w, `/v1/inbox?token=${w.bob.token}`, { token: null }),
    },
    {
      name: "API: no bearer token",
      expect: { status: 401, code: "unauthorized" },
      run: () => call(w, "/v1/messages", { body: message, token: null }),
    },
    {
      name: "API: the relay token used as the local token",
      expect: { status: 401, code: "unauthorized" },
      run: () => call(w, "/v1/messages", { body: message, token: w.bob.relayToken }),
    },
    {
      name: "API: wrong login token",
      expect: { status: 401, code: "unauthorized" },
      run: () => call(w, "/login", { body: json({ token: "tfl_guess" }), token: null }),
    },
    {
      name: "API: JSON as text/plain (a CORS-simple request)",
      expect: { status: 415, code: "unsupported_media_type" },
      run: () => call(w, "/v1/messages", { body: message, type: "text/plain" }),
    },
    {
      name: "API: form-encoded body",
      expect: { status: 415, code: "unsupported_media_type" },
      run: () =>
        call(w, "/v1/messages", {
          body: "from=@bob/writer&to=@alice/requester&text=x",
          type: "application/x-www-form-urlencoded",
        }),
    },
    {
      name: "API: truncated JSON",
      expect: { status: 400, code: "invalid_json" },
      run: () => call(w, "/v1/messages", { body: message.slice(0, 25) }),
    },
    {
      name: "API: invalid UTF-8 bytes in the body",
      expect: { status: 400, code: "invalid_json" },
      run: () =>
        call(w, "/v1/messages", {
          body: new Uint8Array([
            ...new TextEncoder().encode('{"from":"@bob/writer","to":"@alice/requester","text":"'),
            0xc3,
            0x28,
            0xff,
            0x22,
            0x7d,
          ]),
        }),
    },
    {
      name: "API: wrong JSON types",
      expect: { status: 400, code: "validation_failed" },
      run: () => call(w, "/v1/messages", { body: json({ from: 42, to: true, text: {} }) }),
    },
    {
      name: "API: unknown field",
      expect: { status: 400, code: "validation_failed" },
      run: () =>
        call(w, "/v1/messages", {
          body: json({ from: BOB, to: ALICE, text: "x", deliver_as: ALICE }),
        }),
    },
    {
      name: "API: 5 MB body with Content-Length",
      expect: { status: 413, code: "body_too_large" },
      run: () => call(w, "/v1/messages", { body: "x".repeat(5 * MB) }),
    },
    {
      name: "API: 5 MB body streamed without Content-Length",
      expect: { status: 413, code: "body_too_large" },
      run: () => {
        let sent = 0;
        const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
        return call(w, "/v1/messages", {
          body: new ReadableStream<Uint8Array>({
            pull(ctrl) {
              if (sent >= 5 * MB) ctrl.close();
              else {
                sent += chunk.length;
                ctrl.enqueue(chunk);
              }
            },
          }),
        });
      },
    },
    {
      name: "API: 100,000 nested arrays as the body",
      expect: { status: 400, code: "payload_too_deep" },
      run: () => call(w, "/v1/agents", { body: "[".repeat(100_000) + "]".repeat(100_000) }),
    },
    {
      name: "API: 100,000 nested arrays in a typed field",
      expect: { status: 400, code: "payload_too_deep" },
      run: () =>
        call(w, "/v1/agents", {
          body: `{"handle":${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
        }),
    },
    {
      name: "API: sending as an agent that is not local",
      expect: { status: 404, code: "unknown_agent" },
      run: () => call(w, "/v1/messages", { body: json({ from: ALICE, to: BOB, text: "spoof" }) }),
    },
    {
      name: "API: creating an agent in another client's namespace",
      expect: { status: 403, code: "handle_not_owned" },
      run: () => call(w, "/v1/agents", { body: json({ handle: "@alice/evil" }) }),
    },
    {
      name: "API: creating an agent that exists (takeover of the local handle)",
      expect: { status: 409, code: "conflict" },
      run: () => call(w, "/v1/agents", { body: json({ handle: BOB }) }),
    },
    {
      name: "API: message to a peer without a connection",
      expect: { status: 403, code: "not_connected" },
      run: () => call(w, "/v1/messages", { body: json({ from: BOB, to: "@carol/x", text: "x" }) }),
    },
    {
      name: "API: accepting a connection nobody requested (self-approval)",
      expect: { status: 409, code: "connection_not_pending" },
      run: () => call(w, "/v1/connections/@carol/x/accept", { body: json({ agent: BOB }) }),
    },
    {
      name: "API: accepting an already connected peer again",
      expect: { status: 409, code: "connection_not_pending" },
      run: () =>
        call(w, `/v1/connections/${BOB}/accept`, { body: json({ agent: ALICE }), daemon: "alice" }),
    },
    {
      name: "API: raising permissions for a peer without a connection",
      expect: { status: 403, code: "not_connected" },
      run: () =>
        call(w, "/v1/connections/@carol/x", {
          method: "PATCH",
          body: json({ agent: BOB, permissions: { max_rate_per_minute: 100_000 } }),
        }),
    },
    {
      name: "API: the requester accepts its own task (out of role)",
      expect: { status: 403, code: "task_role" },
      run: () => call(w, `/v1/tasks/${taskId}/accept`, { body: "{}", daemon: "alice" }),
    },
    {
      name: "API: the worker completes the task (out of role)",
      expect: { status: 403, code: "task_role" },
      run: () => call(w, `/v1/tasks/${taskId}/complete`, { body: "{}" }),
    },
    {
      name: "API: an artifact before accepting (illegal transition)",
      expect: { status: 409, code: "illegal_transition" },
      run: () => call(w, `/v1/tasks/${taskId}/artifacts`, { body: json({ content: "early" }) }),
    },
    {
      name: "API: a revision request before any artifact (illegal transition)",
      expect: { status: 409, code: "illegal_transition" },
      run: () =>
        call(w, `/v1/tasks/${taskId}/revisions`, {
          body: json({ feedback: "more" }),
          daemon: "alice",
        }),
    },
    {
      name: "API: action on an unknown task",
      expect: { status: 404, code: "task_not_found" },
      run: () => call(w, `/v1/tasks/${newId("task")}/accept`, { body: "{}" }),
    },
    {
      name: "API: approving a task that is not gated",
      expect: { status: 409, code: "conflict" },
      run: () => call(w, `/v1/tasks/${taskId}/approve`, { body: "{}" }),
    },
    {
      name: "API: acking a message this agent did not receive",
      expect: { status: 404, code: "not_found" },
      run: () =>
        call(w, `/v1/messages/${aliceMessageId}/ack`, {
          body: json({ state: "processed" }),
          daemon: "alice",
        }),
    },
    {
      name: "API: accepting an unknown quarantine item",
      expect: { status: 404, code: "not_found" },
      run: () => call(w, `/v1/quarantine/${newId("msg")}/accept`, { body: "{}" }),
    },
    {
      name: "API: long poll longer than 300 s",
      expect: { status: 400, code: "validation_failed" },
      run: () => call(w, `/v1/inbox?agent=${BOB}&wait=301`),
    },
    {
      name: "API: invalid handle in a path",
      expect: { status: 400, code: "invalid_handle" },
      run: () => call(w, "/v1/connections/@Carol/X/accept", { body: "{}" }),
    },
    {
      name: "API: cross-origin preflight gets no CORS grant",
      expect: { status: 401, code: "unauthorized" },
      run: async () => {
        const res = await call(w, "/v1/messages", {
          method: "OPTIONS",
          token: null,
          headers: {
            origin: "https://evil.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
          },
        });
        for (const [name] of res.headers) {
          assert(!name.startsWith("access-control-"), `CORS header ${name}`);
        }
        return res;
      },
    },
  ];
}

/** What a malicious peer or relay can put in front of bob's inbound pipeline. */
async function inboundCases(w: World, taskId: string, aliceMessage: Envelope): Promise<Case[]> {
  const [a] = dbRows<{ s: string; e: string }>(
    w.alice,
    "SELECT signing_private_key AS s, encryption_private_key AS e FROM agents WHERE handle = ?",
    ALICE,
  );
  const aliceKeys = await agentKeysFromPrivate(decodeBase64Url(a!.s), decodeBase64Url(a!.e));
  const bobAgent = (await w.bob.api.agents()).find((x) => x.handle === BOB)!;
  const bobKey = decodeBase64Url(bobAgent.encryption_public_key);
  const aliceDevice = (await w.alice.api.health()).device_id;
  const header = (type: MessageType, extra: Partial<EnvelopeHeader> = {}): EnvelopeHeader => ({
    v: 1,
    id: newId("msg"),
    type,
    from: ALICE,
    to: [BOB],
    created_at: new Date().toISOString(),
    device_id: aliceDevice,
    ...extra,
  });
  /** Signed by alice's real key (a peer bypassing its own daemon's checks). */
  const asAlice = (h: EnvelopeHeader, payload: unknown) =>
    sealEnvelope(h, payload, { handle: ALICE, signingPrivateKey: aliceKeys.signing.privateKey }, [
      { handle: BOB, encryptionPublicKey: bobKey },
    ]);
  const rawAsAlice = (h: EnvelopeHeader, plaintext: Uint8Array) =>
    sealRaw(h, plaintext, aliceKeys.signing.privateKey, [
      { handle: BOB, encryptionPublicKey: bobKey },
    ]);
  let seq = 1_000_000;
  const deliver = async (envelope: unknown): Promise<Outcome> => {
    await w.bob.running.daemon.inbound.deliver(seq++, envelope);
    return { code: "stored" };
  };
  const quarantined = (id: string) =>
    dbRows<{ reason: string }>(w.bob, "SELECT reason FROM quarantine WHERE id = ?", id)[0]
      ?.reason ?? "(not quarantined)";
  const inboxHas = async (id: string) =>
    (await w.bob.api.inbox({ agent: BOB, limit: 500 })).items.some((m) => m.id === id);

  return [
    {
      name: "inbound: envelope re-signed by another key (forged signature)",
      expect: { code: "bad_signature" },
      delta: { "bob.quarantine": 1 },
      run: async () => {
        const mallory = await generateAgentKeys();
        const env = await sealEnvelope(header("message"), { text: "forged" }, {
          handle: ALICE,
          signingPrivateKey: mallory.signing.privateKey,
        }, [{ handle: BOB, encryptionPublicKey: bobKey }]);
        await deliver(env);
        return { code: quarantined(env.id) };
      },
    },
    {
      name: "inbound: header changed after signing (the relay set a conversation_id)",
      expect: { code: "bad_signature" },
      delta: { "bob.quarantine": 1 },
      run: async () => {
        const env = await asAlice(header("message", { to: [BOB] }), { text: "x" });
        const moved = { ...env, conversation_id: newId("conv") };
        await deliver(moved);
        return { code: quarantined(env.id) };
      },
    },
    {
      name: "inbound: not an envelope at all",
      expect: { code: "invalid_envelope" },
      delta: { "bob.quarantine": 1 },
      run: async () => {
        await deliver({ id: "msg_garbage", nested: "[".repeat(1000) });
        const rows = dbRows<{ reason: string }>(
          w.bob,
          "SELECT reason FROM quarantine ORDER BY created_at DESC, rowid DESC LIMIT 1",
        );
        return { code: rows[0]?.reason ?? "(none)" };
      },
    },
    {
      name: "inbound: validly signed, plaintext is invalid UTF-8",
      expect: { code: "invalid_payload" },
      delta: { "bob.quarantine": 1 },
      run: async () => {
        const env = await rawAsAlice(
          header("message"),
          new Uint8Array([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
        );
        await deliver(env);
        return { code: quarantined(env.id) };
      },
    },
    {
      name: "inbound: validly signed, payload with an unknown field",
      expect: { code: "invalid_payload" },
      delta: { "bob.quarantine": 1 },
      run: async () => {
        const env = await rawAsAlice(
          header("message"),
          new TextEncoder().encode(json({ text: "x", run_as_owner: true })),
        );
        await deliver(env);
        return { code: quarantined(env.id) };
      },
    },
    {
      name: "inbound: validly signed, truncated JSON plaintext",
      expect: { code: "invalid_payload" },
      delta: { "bob.quarantine": 1 },
      run: async () => {
        const env = await rawAsAlice(header("message"), new TextEncoder().encode('{"text":"x'));
        await deliver(env);
        return { code: quarantined(env.id) };
      },
    },
    {
      name: "inbound: replay of an envelope already applied",
      expect: { code: "ignored" },
      run: async () => {
        await deliver(aliceMessage);
        return { code: "ignored" };
      },
    },
    {
      name: "inbound: envelope addressed to an agent that is not on this daemon",
      expect: { code: "ignored" },
      run: async () => {
        // Sealed for @bob/other (with bob's key): this daemon has no such agent.
        const e = await sealEnvelope(
          header("message", { to: ["@bob/other"] }),
          { text: "x" },
          { handle: ALICE, signingPrivateKey: aliceKeys.signing.privateKey },
          [{ handle: "@bob/other", encryptionPublicKey: bobKey }],
        );
        await deliver(e);
        return { code: "ignored" };
      },
    },
    {
      name: "inbound: validly signed task event out of role (requester accepts)",
      expect: { code: "rejected" },
      delta: { "bob.messages": 1 },
      run: async () => {
        const env = await asAlice(header("task_accept", { task_id: taskId }), {});
        await deliver(env);
        // The stored code and reason, as the API joins them ("code: reason").
        const row = await w.bob.api.message(env.id);
        assert(row?.state_reason?.startsWith("task_role"), JSON.stringify(row));
        assert(!(await inboxHas(env.id)), "not in the inbox");
        assertEquals((await w.bob.api.task(taskId)).task.state, "requested");
        return { code: row!.state };
      },
    },
    {
      name: "inbound: validly signed task event in an illegal state (complete before artifact)",
      expect: { code: "rejected" },
      delta: { "bob.messages": 1 },
      run: async () => {
        const env = await asAlice(header("task_complete", { task_id: taskId }), {});
        await deliver(env);
        // The stored code and reason, as the API joins them ("code: reason").
        const row = await w.bob.api.message(env.id);
        assert(row?.state_reason?.startsWith("illegal_transition"), JSON.stringify(row));
        assertEquals((await w.bob.api.task(taskId)).task.state, "requested");
        return { code: row!.state };
      },
    },
    {
      name: "inbound: validly signed connection_accept answering no request",
      expect: { code: "rejected" },
      delta: { "bob.messages": 1 },
      run: async () => {
        const req = newId("msg");
        const env = await asAlice(header("connection_accept", { reply_to: req }), {
          request_id: req,
        });
        await deliver(env);
        const [row] = dbRows<{ state: string }>(
          w.bob,
          "SELECT state FROM messages WHERE id = ?",
          env.id,
        );
        return { code: row?.state ?? "(none)" };
      },
    },
  ];
}

Deno.test("hostile daemon input: loopback API and inbound pipeline battery", async (t) => {
  const w = await startWorld();
  try {
    const task = await w.alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "hostile",
      instructions: "do not touch",
    });
    await w.bob.api.waitForInbox(BOB, (m) => m.task_id === task.task.id);
    const sent = await w.alice.api.send({ from: ALICE, to: BOB, text: "a real message" });
    await w.bob.api.waitForInbox(BOB, (m) => m.id === sent.message.id);
    const [row] = dbRows<{ envelope: string }>(
      w.bob,
      "SELECT envelope FROM messages WHERE id = ?",
      sent.message.id,
    );
    const aliceMessage = JSON.parse(row!.envelope) as Envelope;
    await battery(t, w, [
      ...apiCases(w, task.task.id, sent.message.id),
      ...await inboundCases(w, task.task.id, aliceMessage),
    ]);
  } finally {
    await w.close();
  }
});

Deno.test("hostile daemon input: 100,000 nested arrays are refused before parsing, the next message flows", async () => {
  // JSON may nest 64 levels (docs/protocol.md §2): the loopback API refuses deeper bodies by a
  // scan before JSON.parse, and nothing is sent.
  const w = await startWorld();
  try {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    const res = await fetch(`${w.alice.running.url}/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${w.alice.token}`, "content-type": "application/json" },
      body: `{"from":"${ALICE}","to":"${BOB}","data":${deep}}`,
    });
    assertEquals(res.status, 400);
    assertEquals((await res.json()).error.code, "payload_too_deep");
    const after = await w.alice.api.send({ from: ALICE, to: BOB, text: "after the deep one" });
    const got = await w.bob.api.waitForInbox(BOB, (m) => m.id === after.message.id);
    assert(got.item.payload.text === "after the deep one");
    assertEquals((await w.bob.api.health()).counts.quarantined, 0);
  } finally {
    await w.close();
  }
});
