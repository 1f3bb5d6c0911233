/**
 * Hostile input battery against the relay, over HTTP and the WebSocket. Every case asserts the
 * documented answer (HTTP status and catalogue code, or the error frame's code and the close
 * code), that the relay still answers GET /health afterwards, and that relay.db is unchanged:
 * every table's row count and a digest of every row, read through a separate read-only
 * connection before and after. The cases are listed in docs/security.md.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  encodeBase64Url,
  type Envelope,
  generateAgentKeys,
  type MessageType,
  newId,
  registrationInput,
  rotationInput,
  sign,
} from "../../lib/protocol/mod.ts";
import { changedTables, snapshotAll } from "../e2e/faults/db_snapshot.ts";
import { encodeFrame, OP, RawWs } from "../e2e/faults/raw_ws.ts";
import {
  api,
  connectAgents,
  postRegistration,
  registerAgent,
  seal,
  setPermissions,
  type SimAgent,
  SimSession,
  type TestRelay,
  withRelay,
} from "./sim.ts";

/** What a case observed. */
interface Outcome {
  status?: number;
  code?: string;
  close?: number;
  /** The relay ended the connection and holds no session for it. */
  dropped?: boolean;
}

interface Case {
  name: string;
  expect: Outcome;
  /** Work done before the "before" snapshot (may change the database). */
  prepare?: () => Promise<void>;
  run: () => Promise<Outcome>;
  /** Deliveries legitimately pending during the case. */
  queueDepth?: number;
  /** Checks and clean-up after the "after" snapshot. */
  after?: () => Promise<void>;
}

const OPTIONS = { helloTimeoutMs: 1000, maxQueuedFrames: 64 };
const MB = 1024 * 1024;

/** Waits (bounded polling of /health) until the relay's queue depth is `depth`. */
async function quiesce(relay: TestRelay, depth: number) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const h = await api(relay, "GET", "/health");
    if (h.body?.queue_depth === depth) return;
    if (Date.now() > deadline) throw new Error(`queue depth ${h.body?.queue_depth} ≠ ${depth}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs each case as a step with the uniform checks. */
async function battery(t: Deno.TestContext, relay: TestRelay, cases: Case[]) {
  for (const c of cases) {
    await t.step(c.name, async () => {
      await c.prepare?.();
      await quiesce(relay, c.queueDepth ?? 0);
      const before = snapshotAll({ relay: relay.dbPath });
      const got = await c.run();
      const want = c.expect;
      const seen: Outcome = {};
      if (want.status !== undefined) seen.status = got.status!;
      if (want.code !== undefined) seen.code = got.code!;
      if (want.close !== undefined) seen.close = got.close!;
      if (want.dropped !== undefined) seen.dropped = got.dropped!;
      assertEquals(seen, want, `${c.name}: answer`);
      const health = await api(relay, "GET", "/health");
      assertEquals([health.status, health.body?.status], [200, "ok"], `${c.name}: /health`);
      await quiesce(relay, c.queueDepth ?? 0);
      const after = snapshotAll({ relay: relay.dbPath });
      assertEquals(changedTables(before, after), [], `${c.name}: relay.db changed`);
      await c.after?.();
    });
  }
}

/** An HTTP answer as an outcome. */
function httpOutcome(res: { status: number; body: { error?: { code?: string } } | null }) {
  return { status: res.status, code: res.body?.error?.code ?? "(none)" };
}

async function fetchOutcome(res: Response): Promise<Outcome & { headers: Headers }> {
  const text = await res.text();
  let code = "(none)";
  try {
    code = JSON.parse(text).error?.code ?? "(none)";
  } catch {
    // not JSON
  }
  return { status: res.status, code, headers: res.headers };
}

/** The answer frame to the last frame sent on `s` (an error, or accepted). */
async function answer(s: SimSession, envelope: unknown): Promise<Outcome> {
  const f = await s.send(envelope);
  return { code: f.type === "error" ? f.code : f.type };
}

/** Sends a raw frame and returns the error frame it causes. */
async function frameError(s: SimSession, frame: unknown): Promise<Outcome> {
  s.raw(frame);
  const f = await s.next((f) => f.type === "error");
  return { code: f.type === "error" ? f.code : "?" };
}

/** The session still works: ping → pong. */
async function alive(s: SimSession) {
  s.raw({ type: "ping" });
  await s.next((f) => f.type === "pong");
}

function wsUrl(relay: TestRelay) {
  return relay.url.replace(/^http/, "ws") + "/v1/ws";
}

function hello(clientId: string, token: string) {
  return { type: "hello", client_id: clientId, token, device_id: newId("dev") };
}

/** A raw socket that sent `first` (or nothing): its first frame's code and close code. */
async function rawRefusal(relay: TestRelay, first?: unknown): Promise<Outcome> {
  const ws = await RawWs.connect(wsUrl(relay));
  if (first !== undefined) await ws.json(first);
  await ws.waitEnded(5000);
  const frame = ws.messages[0] as { code?: string } | undefined;
  return { code: frame?.code ?? "(none)", close: ws.closeCode };
}

function nested(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

async function setup(relay: TestRelay) {
  const tokens: Record<string, string> & {
    alice: string;
    bob: string;
    carol: string;
    dave: string;
    erin: string;
  } = {
    alice: await relay.addClient("alice"),
    bob: await relay.addClient("bob"),
    carol: await relay.addClient("carol"),
    dave: await relay.addClient("dave"),
    erin: await relay.addClient("erin"),
  };
  const alice = await registerAgent(relay, tokens.alice, "alice", "requester");
  const rot = await registerAgent(relay, tokens.alice, "alice", "rot");
  const bob = await registerAgent(relay, tokens.bob, "bob", "writer", { public: true });
  const carol = await registerAgent(relay, tokens.carol, "carol", "x", { public: true });
  const dave = await registerAgent(relay, tokens.dave, "dave", "x");
  const erin = await registerAgent(relay, tokens.erin, "erin", "x", { public: true });
  const a = await SimSession.connect(relay, "alice", tokens.alice, { autoAck: true });
  const b = await SimSession.connect(relay, "bob", tokens.bob, { autoAck: true });
  const c = await SimSession.connect(relay, "carol", tokens.carol, { autoAck: true });
  let e = await SimSession.connect(relay, "erin", tokens.erin, { autoAck: true });
  await connectAgents(alice, a, bob, b);
  await connectAgents(carol, c, bob, b);
  await connectAgents(alice, a, erin, e);
  // A task alice → bob, in state `requested`.
  const taskId = newId("task");
  const request = await seal(alice, [bob], "task_request", { title: "t", instructions: "i" }, {
    device_id: a.deviceId,
    task_id: taskId,
  });
  assertEquals((await a.send(request)).type, "accepted");
  const sent = await seal(alice, [bob], "message", { text: "accepted once" }, {
    device_id: a.deviceId,
  });
  assertEquals((await a.send(sent)).type, "accepted");

  const mk = (
    from: SimAgent,
    s: SimSession,
    to: SimAgent[],
    type: MessageType = "message",
    payload: unknown = { text: "hostile" },
    header: Partial<Envelope> = {},
  ) => seal(from, to, type, payload, { device_id: s.deviceId, ...header });

  return {
    tokens,
    alice,
    rot,
    bob,
    carol,
    dave,
    erin,
    a,
    b,
    c,
    get e() {
      return e;
    },
    set e(s: SimSession) {
      e = s;
    },
    taskId,
    sent,
    mk,
  };
}
type Ctx = Awaited<ReturnType<typeof setup>>;

function httpCases(relay: TestRelay, x: Ctx): Case[] {
  const post = (path: string, init: { token?: string; body?: BodyInit; type?: string }) =>
    fetch(relay.url + path, {
      method: "POST",
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        "content-type": init.type ?? "application/json",
      },
      body: init.body ?? null,
    }).then(fetchOutcome);
  let bobInvite = "";
  return [
    {
      name: "HTTP: truncated JSON body",
      expect: { status: 400, code: "invalid_json" },
      run: () =>
        post("/v1/agents", { token: x.tokens.alice, body: '{"handle":"@alice/new","signing_pu' }),
    },
    {
      name: "HTTP: invalid UTF-8 bytes in a JSON body",
      expect: { status: 400, code: "invalid_json" },
      run: () =>
        post("/v1/agents", {
          token: x.tokens.alice,
          body: new Uint8Array([
            ...new TextEncoder().encode('{"handle":"@alice/'),
            0xff,
            0xfe,
            0x22,
            0x7d,
          ]),
        }),
    },
    {
      name: "HTTP: wrong JSON types",
      expect: { status: 400, code: "validation_failed" },
      run: async () =>
        httpOutcome(
          await api(relay, "POST", "/v1/agents", {
            token: x.tokens.alice,
            body: { handle: 42, signing_public_key: [], encryption_public_key: {}, proof: true },
          }),
        ),
    },
    {
      name: "HTTP: unknown field in a valid registration",
      expect: { status: 400, code: "validation_failed" },
      run: async () => {
        const keys = await generateAgentKeys();
        const body = await registrationBody("@alice/new", "alice", keys);
        return httpOutcome(
          await api(relay, "POST", "/v1/agents", {
            token: x.tokens.alice,
            body: { ...body, is_admin: true },
          }),
        );
      },
    },
    {
      name: "HTTP: 5 MB body with Content-Length",
      expect: { status: 413, code: "body_too_large" },
      run: () => post("/v1/agents", { token: x.tokens.alice, body: "x".repeat(5 * MB) }),
    },
    {
      name: "HTTP: 5 MB body streamed without Content-Length",
      expect: { status: 413, code: "body_too_large" },
      run: () => {
        let sent = 0;
        const chunk = new TextEncoder().encode("[".repeat(64 * 1024));
        const body = new ReadableStream<Uint8Array>({
          pull(ctrl) {
            if (sent >= 5 * MB) ctrl.close();
            else {
              sent += chunk.length;
              ctrl.enqueue(chunk);
            }
          },
        });
        return post("/v1/agents", { token: x.tokens.alice, body });
      },
    },
    {
      name: "HTTP: 100,000 nested arrays as a body",
      expect: { status: 413, code: "body_too_large" },
      run: () =>
        fetch(relay.url + "/v1/permissions", {
          method: "PUT",
          headers: {
            authorization: `Bearer ${x.tokens.bob}`,
            "content-type": "application/json",
          },
          body: nested(100_000),
        }).then(fetchOutcome),
    },
    {
      name: "HTTP: 2,000 nested arrays inside a field (fits the size limit)",
      expect: { status: 400, code: "payload_too_deep" },
      run: async () => {
        const keys = await generateAgentKeys();
        const body = await registrationBody("@alice/new", "alice", keys);
        const text = JSON.stringify({ ...body, profile: { capabilities: "@@" } })
          .replace('"@@"', nested(2000));
        return await post("/v1/agents", { token: x.tokens.alice, body: text });
      },
    },
    {
      name: "HTTP: JSON sent as text/plain (a CORS-simple request)",
      expect: { status: 415, code: "unsupported_media_type" },
      run: async () => {
        const keys = await generateAgentKeys();
        const body = await registrationBody("@alice/new", "alice", keys);
        return await post("/v1/agents", {
          token: x.tokens.alice,
          body: JSON.stringify(body),
          type: "text/plain",
        });
      },
    },
    {
      name: "HTTP: forged proof of possession (signed by another key)",
      expect: { status: 401, code: "bad_proof" },
      run: async () => {
        const keys = await generateAgentKeys();
        const res = await postRegistration(relay, x.tokens.alice, "alice", "@alice/new", keys, {
          proofKeys: await generateAgentKeys(),
        });
        return await fetchOutcome(res);
      },
    },
    {
      name: "HTTP: non-canonical base64url key (stray trailing bits; was a 500)",
      expect: { status: 400, code: "validation_failed" },
      run: async () => {
        const keys = await generateAgentKeys();
        const body = await registrationBody("@alice/new", "alice", keys);
        // 32 bytes leave 2 unused bits in the last character; set one of them.
        const k = body.signing_public_key;
        const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const last = alphabet[alphabet.indexOf(k.at(-1)!) | 1]!;
        return httpOutcome(
          await api(relay, "POST", "/v1/agents", {
            token: x.tokens.alice,
            body: { ...body, signing_public_key: k.slice(0, -1) + last },
          }),
        );
      },
    },
    {
      name: "HTTP: registering a handle in another client's namespace",
      expect: { status: 403, code: "handle_not_owned" },
      run: async () => {
        const keys = await generateAgentKeys();
        return await fetchOutcome(
          await postRegistration(relay, x.tokens.alice, "alice", "@bob/writer", keys),
        );
      },
    },
    {
      name: "HTTP: handle takeover — new keys for a registered handle without a rotation",
      expect: { status: 403, code: "rotation_not_signed" },
      run: async () => {
        const keys = await generateAgentKeys();
        return await fetchOutcome(
          await postRegistration(relay, x.tokens.bob, "bob", "@bob/writer", keys),
        );
      },
    },
    {
      name: "HTTP: handle takeover — rotation signed by the new key, not the registered one",
      expect: { status: 403, code: "rotation_not_signed" },
      run: async () => {
        const keys = await generateAgentKeys();
        const pub = publicKeys(keys);
        const rotation = encodeBase64Url(
          await sign(keys.signing.privateKey, rotationInput("@bob/writer", pub)),
        );
        return await fetchOutcome(
          await postRegistration(relay, x.tokens.bob, "bob", "@bob/writer", keys, { rotation }),
        );
      },
    },
    {
      name: "HTTP: relay token in the query string",
      expect: { status: 400, code: "bad_request" },
      run: async () =>
        httpOutcome(await api(relay, "GET", `/v1/directory?token=${x.tokens.alice}`)),
    },
    {
      name: "HTTP: a well-formed but wrong relay token",
      expect: { status: 401, code: "unauthorized" },
      run: async () =>
        httpOutcome(
          await api(relay, "POST", "/v1/invites", {
            token: x.tokens.alice.slice(0, -4) + "AAAA",
            body: { agent: x.alice.handle },
          }),
        ),
    },
    {
      name: "HTTP: an invite for another client's agent",
      expect: { status: 403, code: "handle_not_owned" },
      run: async () =>
        httpOutcome(
          await api(relay, "POST", "/v1/invites", {
            token: x.tokens.alice,
            body: { agent: x.bob.handle },
          }),
        ),
    },
    {
      name: "HTTP: a peer raises the limits on what it may send (permissions of the other side)",
      expect: { status: 403, code: "handle_not_owned" },
      run: async () =>
        httpOutcome(
          await setPermissions(relay, x.tokens.alice, x.bob, x.alice, {
            max_rate_per_minute: 100_000,
            max_open_tasks: 10_000,
          }),
        ),
    },
    {
      name: "HTTP: revoking another client's invite",
      expect: { status: 404, code: "invite_not_found" },
      prepare: async () => {
        const res = await api(relay, "POST", "/v1/invites", {
          token: x.tokens.bob,
          body: { agent: x.bob.handle },
        });
        bobInvite = res.body.code;
      },
      run: async () =>
        httpOutcome(
          await api(relay, "DELETE", `/v1/invites/${bobInvite}`, { token: x.tokens.alice }),
        ),
    },
    {
      name: "HTTP: probing a private agent from an unrelated client",
      expect: { status: 404, code: "unknown_agent" },
      run: async () =>
        httpOutcome(
          await api(relay, "GET", `/v1/agents/${x.alice.handle}`, { token: x.tokens.dave }),
        ),
    },
    {
      name: "HTTP: signup while open signup is off",
      expect: { status: 403, code: "forbidden" },
      run: async () =>
        httpOutcome(await api(relay, "POST", "/v1/signup", { body: { client_id: "mallory" } })),
    },
    {
      name: "HTTP: cross-origin preflight gets no CORS grant",
      expect: { status: 404, code: "not_found" },
      run: async () => {
        const res = await fetch(relay.url + "/v1/agents", {
          method: "OPTIONS",
          headers: {
            origin: "https://evil.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
          },
        });
        const out = await fetchOutcome(res);
        for (const [name] of out.headers) {
          assert(!name.startsWith("access-control-"), `CORS header ${name}`);
        }
        return out;
      },
    },
    {
      name: "HTTP: plain GET of the WebSocket endpoint",
      expect: { status: 400, code: "bad_request" },
      run: async () => httpOutcome(await api(relay, "GET", "/v1/ws")),
    },
    {
      name: "HTTP: percent-encoding tricks in a handle path",
      expect: { status: 400, code: "invalid_handle" },
      run: async () => httpOutcome(await api(relay, "GET", "/v1/agents/%2540alice%252Frequester")),
    },
  ];
}

function wsCases(relay: TestRelay, x: Ctx): Case[] {
  let rotatedOld: SimAgent | null = null;
  let selfAsk: Envelope | null = null;
  let erinSeq = 0;
  return [
    {
      name: "WS: truncated JSON frame",
      expect: { code: "invalid_json" },
      run: async () => {
        const out = await frameError(x.a, '{"type":"send","envelope":{"v":1,"id":"msg_');
        await alive(x.a);
        return out;
      },
    },
    {
      name: "WS: frame with wrong types",
      expect: { code: "bad_request" },
      run: () => frameError(x.a, { type: "ack", seq: "1" }),
    },
    {
      name: "WS: frame with an unknown field",
      expect: { code: "bad_request" },
      run: () => frameError(x.a, { type: "ping", admin: true }),
    },
    {
      name: "WS: ack with seq 0",
      expect: { code: "bad_request" },
      run: () => frameError(x.a, { type: "ack", seq: 0 }),
    },
    {
      name: "WS: a 10 MB frame (refused by length, before parsing)",
      expect: { code: "envelope_too_large", close: 1009 },
      run: async () => {
        const d = await SimSession.connect(relay, "dave", x.tokens.dave);
        const env = await x.mk(x.dave, d, [x.bob], "message", { data: "x".repeat(10 * MB) });
        const f = await d.send(env);
        const closed = await d.closed;
        return { code: f.type === "error" && f.id === env.id ? f.code : "?", close: closed.code };
      },
    },
    {
      name: "WS: 100,000 nested arrays as a frame",
      expect: { code: "payload_too_deep" },
      run: async () => {
        const out = await frameError(x.a, nested(100_000));
        await alive(x.a);
        return out;
      },
    },
    {
      name: "WS: 100,000 nested arrays inside an envelope",
      expect: { code: "payload_too_deep" },
      run: async () => {
        const env = await x.mk(x.alice, x.a, [x.bob]);
        const text = JSON.stringify({ type: "send", envelope: { ...env, keys: "@@" } })
          .replace('"@@"', nested(100_000));
        x.a.raw(text);
        const f = await x.a.next((f) => f.type === "error" && f.id === env.id);
        return { code: f.type === "error" ? f.code : "?" };
      },
    },
    {
      name: "WS: invalid UTF-8 in a text frame (connection dropped)",
      expect: { close: 1006, dropped: true },
      run: async () => {
        const ws = await RawWs.connect(wsUrl(relay));
        await ws.json(hello("dave", x.tokens.dave));
        await ws.waitFor((m) => (m as { type?: string }).type === "welcome");
        await ws.frame(OP.text, new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
        const ended = await ws.waitEnded();
        return { close: ws.closeCode, dropped: ended && !relay.relay.isConnected("dave") };
      },
    },
    {
      name: "WS: binary frame",
      expect: { code: "bad_request", close: 4001 },
      run: async () => {
        const ws = await RawWs.connect(wsUrl(relay));
        await ws.json(hello("dave", x.tokens.dave));
        await ws.waitFor((m) => (m as { type?: string }).type === "welcome");
        await ws.frame(OP.binary, new Uint8Array([0x7b, 0x7d]));
        await ws.waitEnded();
        const err = ws.messages.find((m) => (m as { type?: string }).type === "error") as {
          code: string;
        };
        return { code: err?.code, close: ws.closeCode };
      },
    },
    {
      name: "WS: forged signature (signed by another key)",
      expect: { code: "bad_signature" },
      run: async () => {
        const mallory = { handle: x.alice.handle, keys: await generateAgentKeys() };
        return await answer(x.a, await x.mk(mallory, x.a, [x.bob]));
      },
    },
    {
      name: "WS: ciphertext tampered after signing",
      expect: { code: "bad_signature" },
      run: async () => {
        const env = await x.mk(x.alice, x.a, [x.bob]);
        const c = env.payload.ciphertext;
        const flipped = c[5] === "A" ? "B" : "A";
        env.payload.ciphertext = c.slice(0, 5) + flipped + c.slice(6);
        return await answer(x.a, env);
      },
    },
    {
      name: "WS: re-keyed sender — the old key after a signed rotation",
      expect: { code: "bad_signature" },
      prepare: async () => {
        const keys = await generateAgentKeys();
        const rotation = encodeBase64Url(
          await sign(x.rot.keys.signing.privateKey, rotationInput(x.rot.handle, publicKeys(keys))),
        );
        const res = await postRegistration(relay, x.tokens.alice, "alice", x.rot.handle, keys, {
          rotation,
        });
        assertEquals(res.status, 200, await res.text());
        rotatedOld = x.rot;
      },
      run: async () => await answer(x.a, await x.mk(rotatedOld!, x.a, [x.bob])),
    },
    {
      name: "WS: replayed envelope id",
      expect: { code: "duplicate_envelope" },
      run: () => answer(x.a, x.sent),
    },
    {
      name: "WS: another client replays an accepted envelope",
      expect: { code: "sender_not_owned" },
      run: () => answer(x.b, x.sent),
    },
    {
      name: "WS: created_at ten minutes in the past",
      expect: { code: "clock_skew" },
      run: async () =>
        await answer(
          x.a,
          await x.mk(x.alice, x.a, [x.bob], "message", { text: "old" }, {
            created_at: new Date(Date.now() - 600_000).toISOString(),
          }),
        ),
    },
    {
      name: "WS: created_at ten minutes in the future",
      expect: { code: "clock_skew" },
      run: async () =>
        await answer(
          x.a,
          await x.mk(x.alice, x.a, [x.bob], "message", { text: "future" }, {
            created_at: new Date(Date.now() + 600_000).toISOString(),
          }),
        ),
    },
    {
      name: "WS: sender handle owned by another client (validly signed by its key)",
      expect: { code: "sender_not_owned" },
      run: async () => await answer(x.a, await x.mk(x.bob, x.a, [x.alice])),
    },
    {
      name: "WS: device_id of another session",
      expect: { code: "device_mismatch" },
      run: async () =>
        await answer(
          x.a,
          await x.mk(x.alice, x.a, [x.bob], "message", { text: "x" }, {
            device_id: newId("dev"),
          }),
        ),
    },
    {
      name: "WS: connection self-approval (accepting one's own request)",
      expect: { code: "connection_not_pending" },
      prepare: async () => {
        // alice asks carol (pending) …
        selfAsk = await x.mk(x.alice, x.a, [x.carol], "connection_request", {});
        assertEquals((await x.a.send(selfAsk)).type, "accepted");
      },
      // … and answers her own request as if carol had.
      run: async () =>
        await answer(
          x.a,
          await x.mk(x.alice, x.a, [x.carol], "connection_accept", {
            request_id: selfAsk!.id,
          }, { reply_to: selfAsk!.id }),
        ),
    },
    {
      name: "WS: worker completes the task (out of role)",
      expect: { code: "task_role" },
      run: async () =>
        await answer(
          x.b,
          await x.mk(x.bob, x.b, [x.alice], "task_complete", {}, { task_id: x.taskId }),
        ),
    },
    {
      name: "WS: requester accepts its own task (out of role)",
      expect: { code: "task_role" },
      run: async () =>
        await answer(
          x.a,
          await x.mk(x.alice, x.a, [x.bob], "task_accept", {}, { task_id: x.taskId }),
        ),
    },
    {
      name: "WS: complete before any artifact (illegal transition)",
      expect: { code: "illegal_transition" },
      run: async () =>
        await answer(
          x.a,
          await x.mk(x.alice, x.a, [x.bob], "task_complete", {}, { task_id: x.taskId }),
        ),
    },
    {
      name: "WS: task_request reusing an existing task id",
      expect: { code: "illegal_transition" },
      run: async () =>
        await answer(
          x.a,
          await x.mk(x.alice, x.a, [x.bob], "task_request", { title: "t", instructions: "i" }, {
            task_id: x.taskId,
          }),
        ),
    },
    {
      name: "WS: event for a task the relay never saw",
      expect: { code: "task_not_found" },
      run: async () =>
        await answer(
          x.b,
          await x.mk(x.bob, x.b, [x.alice], "task_accept", {}, { task_id: newId("task") }),
        ),
    },
    {
      name: "WS: message without a connection",
      expect: { code: "not_connected" },
      run: async () => await answer(x.a, await x.mk(x.alice, x.a, [x.carol])),
    },
    {
      name: "WS: unknown recipient",
      expect: { code: "unknown_recipient" },
      run: async () =>
        await answer(
          x.a,
          await x.mk(x.alice, x.a, [{ handle: "@nobody/x", keys: x.bob.keys }]),
        ),
    },
    {
      name: "WS: unsupported protocol version",
      expect: { code: "unsupported_version" },
      run: async () => await answer(x.a, { ...(await x.mk(x.alice, x.a, [x.bob])), v: 2 }),
    },
    {
      name: "WS: 33 recipients",
      expect: { code: "invalid_envelope" },
      run: async () => {
        const env = await x.mk(x.alice, x.a, [x.bob]);
        const to = Array.from({ length: 33 }, (_, i) => `@bob/r${i}`);
        return await answer(x.a, { ...env, to });
      },
    },
    {
      name: "WS: flood past the link's rate limit",
      expect: { code: "rate_limited" },
      prepare: async () => {
        const res = await setPermissions(relay, x.tokens.bob, x.bob, x.carol, {
          max_rate_per_minute: 2,
        });
        assertEquals(res.status, 200);
        for (let i = 0; i < 2; i++) {
          assertEquals((await x.c.send(await x.mk(x.carol, x.c, [x.bob]))).type, "accepted");
        }
      },
      run: async () => await answer(x.c, await x.mk(x.carol, x.c, [x.bob])),
    },
    {
      name: "WS: flood of frames past maxQueuedFrames",
      // The relay closes with 4003; the close frame is usually lost to the TCP reset that
      // discarding the unread frames causes, so the client sees 1006.
      expect: { dropped: true },
      run: async () => {
        const ws = await RawWs.connect(wsUrl(relay));
        const h = hello("dave", x.tokens.dave);
        await ws.json(h);
        await ws.waitFor((m) => (m as { type?: string }).type === "welcome");
        const env = await seal(x.dave, [x.bob], "message", { text: "flood" }, {
          device_id: h.device_id,
        });
        env.sig = encodeBase64Url(new Uint8Array(64).fill(7));
        // 2,000 frames in one write: they arrive faster than signatures can be checked.
        const frame = encodeFrame(OP.text, JSON.stringify({ type: "send", envelope: env }));
        const burst = new Uint8Array(frame.length * 200);
        for (let i = 0; i < 200; i++) burst.set(frame, i * frame.length);
        await ws.bytes(burst).catch(() => {});
        const ended = await ws.waitEnded();
        return {
          dropped: ended && [4003, 1006].includes(ws.closeCode) && !relay.relay.isConnected("dave"),
        };
      },
    },
    {
      name: "WS: no hello",
      expect: { code: "unauthorized", close: 4001 },
      run: () => rawRefusal(relay),
    },
    {
      name: "WS: slow hello (fragments trickling past the time limit)",
      expect: { code: "unauthorized", close: 4001 },
      run: async () => {
        const ws = await RawWs.connect(wsUrl(relay));
        const text = JSON.stringify(hello("dave", x.tokens.dave));
        await ws.frame(OP.text, text.slice(0, 8), false);
        // One fragment per 200 ms: the whole hello would take ~3 s, the limit is 1 s.
        for (let i = 8; i < text.length && !(await ws.waitEnded(200)); i += 8) {
          await ws.frame(OP.continuation, text.slice(i, i + 8), i + 8 >= text.length)
            .catch(() => {});
        }
        await ws.waitEnded();
        const frame = ws.messages[0] as { code?: string } | undefined;
        return { code: frame?.code ?? "(none)", close: ws.closeCode };
      },
    },
    {
      name: "WS: hello with another client's token",
      expect: { code: "unauthorized", close: 4001 },
      run: () => rawRefusal(relay, hello("alice", x.tokens.bob)),
    },
    {
      name: "WS: hello of a revoked client",
      expect: { code: "client_revoked", close: 4001 },
      prepare: async () => {
        const token = await relay.addClient("frank");
        await relay.relay.store.revokeClient("frank", Date.now());
        x.tokens.frank = token;
      },
      run: () => rawRefusal(relay, hello("frank", x.tokens.frank!)),
    },
    {
      name: "WS: relay token in the WebSocket URL",
      expect: { status: 400, code: "bad_request" },
      run: async () => httpOutcome(await api(relay, "GET", `/v1/ws?token=${x.tokens.alice}`)),
    },
    {
      name: "WS: a second hello on an authenticated session",
      expect: { code: "bad_request" },
      run: () => frameError(x.a, hello("alice", x.tokens.alice)),
    },
    {
      name: "WS: ack of another client's pending delivery changes nothing",
      expect: { code: "(no answer)" },
      queueDepth: 1,
      prepare: async () => {
        // erin's session stops acking; alice sends erin one message: one pending delivery.
        x.e.close();
        await x.e.closed;
        x.e = await SimSession.connect(relay, "erin", x.tokens.erin);
        const env = await x.mk(x.alice, x.a, [x.erin]);
        assertEquals((await x.a.send(env)).type, "accepted");
        const f = await x.e.next((f) => f.type === "deliver");
        erinSeq = f.type === "deliver" ? f.seq : 0;
      },
      run: async () => {
        x.a.raw({ type: "ack", seq: erinSeq });
        await alive(x.a); // processed in order: the ack was handled before the pong
        return { code: "(no answer)" };
      },
      after: async () => {
        x.e.raw({ type: "ack", seq: erinSeq });
        await quiesce(relay, 0);
      },
    },
  ];
}

Deno.test("hostile relay input: HTTP and WebSocket battery", async (t) => {
  await withRelay(OPTIONS, async (relay) => {
    const x = await setup(relay);
    await quiesce(relay, 0);
    await battery(t, relay, [...httpCases(relay, x), ...wsCases(relay, x)]);
  });
});

Deno.test("hostile relay input: open signup abuse", async (t) => {
  await withRelay({ ...OPTIONS, openSignup: true }, async (relay) => {
    await relay.addClient("taken");
    const signup = (client_id: unknown) =>
      api(relay, "POST", "/v1/signup", { body: { client_id } }).then(httpOutcome);
    await battery(t, relay, [
      {
        name: "signup: invalid client id",
        expect: { status: 400, code: "validation_failed" },
        run: () => signup("Mallory!"),
      },
      {
        name: "signup: a client id that exists",
        expect: { status: 409, code: "conflict" },
        run: () => signup("taken"),
      },
      {
        name: "signup: flood past 5 per hour per address",
        expect: { status: 429, code: "rate_limited" },
        prepare: async () => {
          // The conflict above spent one of this address's five (the invalid id did not:
          // the body is checked first).
          for (let i = 0; i < 4; i++) {
            assertEquals((await signup(`user${i}`)).status, 201);
          }
        },
        run: () => signup("user9"),
      },
    ]);
  });
});

function publicKeys(keys: Awaited<ReturnType<typeof generateAgentKeys>>) {
  return {
    signing_public_key: encodeBase64Url(keys.signing.publicKey),
    encryption_public_key: encodeBase64Url(keys.encryption.publicKey),
  };
}

/** A valid registration body (proof by the keys themselves). */
async function registrationBody(
  handle: string,
  clientId: string,
  keys: Awaited<ReturnType<typeof generateAgentKeys>>,
) {
  const pub = publicKeys(keys);
  const proof = await sign(keys.signing.privateKey, registrationInput(handle, pub, clientId));
  return { handle, ...pub, proof: encodeBase64Url(proof) };
}
