/**
 * Seeded fuzzing of a live relay. Valid envelopes and frames (and valid HTTP bodies) are
 * mutated — bytes and characters flipped, fields deleted, duplicated, reordered, retyped,
 * truncated, spliced between envelopes, frames retyped — and sent over the WebSocket and HTTP.
 *
 * Invariants:
 * - the relay never crashes (GET /health answers throughout) and never answers 5xx (HTTP) or
 *   `internal` (WebSocket) to client input;
 * - every `accepted` is for an envelope that parses and whose signature verifies with the
 *   sender's registered key (checked here with lib/protocol's verifyEnvelope);
 * - recipients receive only accepted envelopes, byte-for-byte as accepted (canonical JSON), and
 *   every accepted envelope exactly once; relay.db stores no envelope that was not accepted;
 * - a 2xx on POST /v1/agents always carries a proof that verifies, and a key change always a
 *   rotation signed by the previous key.
 *
 * 2,000 mutations here (seed fixed; TASKFERRY_FUZZ_SEED / TASKFERRY_FUZZ_COUNT override);
 * `deno task soak` runs 50,000.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  canonicalJson,
  decodeBase64Url,
  encodeBase64Url,
  type Envelope,
  generateAgentKeys,
  type MessageType,
  newId,
  parseEnvelope,
  registrationInput,
  type RelayFrame,
  rotationInput,
  sign,
  verify,
  verifyEnvelope,
} from "../../lib/protocol/mod.ts";
import {
  api,
  connectAgents,
  registerAgent,
  seal,
  setPermissions,
  type SimAgent,
  SimSession,
  type TestRelay,
  withRelay,
} from "./sim.ts";

const SOAK = Deno.env.get("TASKFERRY_SOAK") === "1";
const COUNT = Number(Deno.env.get("TASKFERRY_FUZZ_COUNT") ?? (SOAK ? 50_000 : 2_000));
const SEED = Number(Deno.env.get("TASKFERRY_FUZZ_SEED") ?? 0x7a5c_f3e1);

/** mulberry32: a small, fast, seedable PRNG. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Helpers over one PRNG. */
class Rng {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path to a value inside `v` (object keys and array indices). */
function paths(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  if (v !== null && typeof v === "object") {
    for (const [k, child] of Object.entries(v)) {
      const p = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      paths(child as Json, p, out);
    }
  }
  return out;
}

function getAt(v: Json, path: (string | number)[]): Json {
  let cur: Json = v;
  for (const k of path) cur = (cur as Record<string, Json>)[k as string]!;
  return cur;
}

function parentOf(v: Json, path: (string | number)[]) {
  return { parent: getAt(v, path.slice(0, -1)) as Record<string, Json>, key: path.at(-1)! };
}

const ODD_STRINGS = [
  "",
  " ",
  "\u0000",
  "\ud800",
  "é",
  "😀",
  "null",
  "msg_",
  "@alice/requester",
  "@bob/writer",
  "@carol/x",
  "1",
  "x".repeat(300),
  "2026-02-30T00:00:00.000Z",
  "%00",
  "../../etc/passwd",
  "<script>",
];
const ODD_VALUES: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  -0,
  2 ** 53 + 1,
  [],
  {},
  [[[[]]]],
  { v: 1 },
  "",
];

function mutateString(r: Rng, s: string): string {
  if (s.length === 0) return r.pick(ODD_STRINGS);
  switch (r.int(6)) {
    case 0: {
      const i = r.int(s.length);
      const c = String.fromCharCode((s.charCodeAt(i) ^ (1 << r.int(7))) || 65);
      return s.slice(0, i) + c + s.slice(i + 1);
    }
    case 1:
      return s.slice(0, r.int(s.length));
    case 2:
      return s + s.slice(0, 1 + r.int(8));
    case 3:
      return r.pick(ODD_STRINGS);
    case 4: {
      const i = r.int(s.length);
      return s.slice(0, i) + r.pick(["=", "+", "/", " ", "\n", "A", "_", "-"]) + s.slice(i);
    }
    default:
      return s.toUpperCase();
  }
}

/** One structural mutation of a JSON value (in place on a copy); returns its name. */
function mutateValue(r: Rng, root: Json, donor: Json): string {
  const all = paths(root);
  if (all.length === 0) return "none";
  const path = r.pick(all);
  const { parent, key } = parentOf(root, path);
  const value = parent[key as string]!;
  switch (r.int(11)) {
    case 9:
    case 10:
      // Same-class substitution: the schema still holds, only the signature can tell.
      if (typeof value === "string" && value.length > 0) {
        const i = r.int(value.length);
        const ch = value[i]!;
        const cls = /[0-9]/.test(ch)
          ? "0123456789"
          : /[A-Z]/.test(ch)
          ? "ABCDEFGHJKMNPQRSTVWXYZ"
          : /[a-z]/.test(ch)
          ? "abcdefghijklmnopqrstuvwxyz"
          : ch;
        parent[key as string] = value.slice(0, i) + r.pick([...cls]) + value.slice(i + 1);
      }
      return "sameclass";
    case 0:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
      return "delete";
    case 1:
      if (Array.isArray(parent)) parent.push(structuredClone(value));
      else {parent[`${String(key)}${r.pick(["_", "2", "x", ""])}${r.int(3)}`] = structuredClone(
          value,
        );}
      return "duplicate";
    case 2:
      parent[key as string] = structuredClone(r.pick(ODD_VALUES));
      return "retype";
    case 3:
      parent[key as string] = typeof value === "string"
        ? mutateString(r, value)
        : typeof value === "number"
        ? value + r.pick([1, -1, 0.5, 1e9])
        : structuredClone(r.pick(ODD_VALUES));
      return "edit";
    case 4: {
      const other = r.pick(all);
      // Never swap a value with its own ancestor or descendant (that would make a cycle).
      const prefix = (x: (string | number)[], y: (string | number)[]) =>
        x.length <= y.length && x.every((k, i) => k === y[i]);
      if (prefix(path, other) || prefix(other, path)) return "swap";
      const o = parentOf(root, other);
      const tmp = o.parent[o.key as string]!;
      o.parent[o.key as string] = value;
      parent[key as string] = tmp;
      return "swap";
    }
    case 5: {
      // Splice: the same path (or a random one) from another envelope.
      const donorPaths = paths(donor);
      const same = donorPaths.find((p) => JSON.stringify(p) === JSON.stringify(path));
      const from = same ?? r.pick(donorPaths.length ? donorPaths : [path]);
      try {
        parent[key as string] = structuredClone(getAt(donor, from));
      } catch {
        parent[key as string] = null;
      }
      return "splice";
    }
    case 6:
      if (!Array.isArray(parent)) {
        // Reorder: the same members in another order (a valid envelope stays valid).
        const entries = Object.entries(parent);
        for (const k of Object.keys(parent)) delete parent[k];
        for (const [k, v] of entries.sort(() => r.next() - 0.5)) parent[k] = v;
      }
      return "reorder";
    case 7:
      parent[key as string] = [value];
      return "wrap";
    default:
      parent[key as string] = typeof value === "string" && value.length > 4
        ? value.slice(0, value.length - 1 - r.int(4))
        : value;
      return "shorten";
  }
}

/** One text-level mutation. */
function mutateText(r: Rng, s: string): string {
  const i = r.int(s.length);
  switch (r.int(6)) {
    case 0:
      return s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << r.int(7))) +
        s.slice(i + 1);
    case 1:
      return s.slice(0, i);
    case 2: {
      const j = i + r.int(Math.min(64, s.length - i));
      return s.slice(0, i) + s.slice(j);
    }
    case 3: {
      const j = i + r.int(Math.min(64, s.length - i));
      return s.slice(0, j) + s.slice(i, j) + s.slice(j);
    }
    case 4:
      // A duplicated member: JSON.parse keeps the last one.
      return s.replace(
        /"(id|from|sig|type|created_at)":/,
        (m) => `${m}${r.pick(['"x",', "1,", "null,", '"msg_01M7ZV3EG00000000000000001",'])}${m}`,
      );
    default:
      return s.slice(0, i) + r.pick(["{", "}", "[", "]", ",", ":", '"', "\\", "\u0000", "é"]) +
        s.slice(i);
  }
}

interface Parties {
  alice: SimAgent;
  bob: SimAgent;
  carol: SimAgent;
  a: SimSession;
  b: SimSession;
  c: SimSession;
  tokens: Record<string, string>;
}

async function setup(relay: TestRelay): Promise<Parties> {
  const tokens = {
    alice: await relay.addClient("alice"),
    bob: await relay.addClient("bob"),
    carol: await relay.addClient("carol"),
  };
  const alice = await registerAgent(relay, tokens.alice, "alice", "requester");
  const bob = await registerAgent(relay, tokens.bob, "bob", "writer", { public: true });
  const carol = await registerAgent(relay, tokens.carol, "carol", "x", { public: true });
  const a = await SimSession.connect(relay, "alice", tokens.alice, { autoAck: true });
  const b = await SimSession.connect(relay, "bob", tokens.bob, { autoAck: true });
  const c = await SimSession.connect(relay, "carol", tokens.carol, { autoAck: true });
  await connectAgents(alice, a, bob, b);
  const wide = { max_rate_per_minute: 100_000, max_open_tasks: 10_000 };
  assertEquals((await setPermissions(relay, tokens.bob, bob, alice, wide)).status, 200);
  assertEquals((await setPermissions(relay, tokens.alice, alice, bob, wide)).status, 200);
  return { alice, bob, carol, a, b, c, tokens };
}

/** A fresh valid envelope of a random kind from alice. */
function freshEnvelope(r: Rng, p: Parties): Promise<Envelope> {
  const kind = r.int(10);
  const device = { device_id: p.a.deviceId };
  if (kind < 6) {
    return seal(p.alice, [p.bob], "message", { text: `fuzz ${r.int(1e9)}` }, {
      ...device,
      conversation_id: newId("conv"),
    });
  }
  if (kind < 9) {
    return seal(p.alice, [p.bob], "task_request", { title: "fuzz", instructions: "x" }, {
      ...device,
      task_id: newId("task"),
    });
  }
  const type: MessageType = "connection_request";
  return seal(p.alice, [p.carol], type, { note: "fuzz" }, device);
}

/** Sends `text` then a ping; returns the answer frame to `text` (or null when none). */
async function exchange(s: SimSession, text: string): Promise<RelayFrame | null> {
  s.raw(text);
  s.raw('{"type":"ping"}');
  const pong = await s.next((f) => f.type === "pong", 10_000);
  void pong;
  const answer = s.frames.find((f) => f.type === "accepted" || f.type === "error");
  if (answer) s.frames.splice(s.frames.indexOf(answer), 1);
  // Anything else still buffered is a deliver/receipt for alice: drop it (auto-acked).
  s.frames.length = 0;
  return answer ?? null;
}

Deno.test(`fuzz: ${COUNT} seeded mutations of envelopes, frames and HTTP bodies (seed ${SEED})`, async () => {
  await withRelay({}, async (relay) => {
    const r = new Rng(mulberry32(SEED));
    const p = await setup(relay);
    const aliceKey = decodeBase64Url(
      (await relay.relay.store.getAgent(p.alice.handle))!.signing_public_key,
    );
    // Deliveries to bob and carol (their sessions ack automatically).
    const delivered = new Map<string, number>();
    const deliveredBody = new Map<string, string>();
    for (const s of [p.b, p.c]) {
      s.ws.addEventListener("message", (e) => {
        const f = JSON.parse(e.data as string) as RelayFrame;
        if (f.type !== "deliver") return;
        const env = f.envelope as Envelope;
        delivered.set(env.id, (delivered.get(env.id) ?? 0) + 1);
        deliveredBody.set(env.id, canonicalJson(env));
      });
    }
    const setupIds = new Set(await relayEnvelopeIds(relay));
    const accepted = new Map<string, string>();
    const stats = {
      ws: 0,
      http: 0,
      accepted: 0,
      refused: new Map<string, number>(),
      silent: 0,
      http2xx: 0,
      httpStatus: new Map<number, number>(),
      mutations: new Map<string, number>(),
    };
    const count = (m: Map<string | number, number>, k: string | number) =>
      m.set(k, (m.get(k) ?? 0) + 1);
    const pool: Envelope[] = [];
    for (let i = 0; i < 16; i++) pool.push(await freshEnvelope(r, p));
    // Donors from another client and session: spliced fields (from, device_id, sig, keys).
    const foreign: Envelope[] = [];
    for (let i = 0; i < 4; i++) {
      foreign.push(
        await seal(p.bob, [p.alice], "message", { text: "donor" }, { device_id: p.b.deviceId }),
      );
    }
    const http = new HttpFuzz(relay, p, r);

    for (let i = 0; i < COUNT; i++) {
      if (i % 8 === 0) pool[r.int(pool.length)] = await freshEnvelope(r, p);
      if (i % 4 === 3) {
        // HTTP.
        stats.http++;
        const status = await http.step();
        count(stats.httpStatus, status);
        if (status >= 200 && status < 300) stats.http2xx++;
        assert(status < 500, `HTTP ${status} to client input at iteration ${i}`);
        continue;
      }
      stats.ws++;
      let text: string;
      let what: string;
      if (r.chance(0.08)) {
        text = JSON.stringify({ type: "send", envelope: await freshEnvelope(r, p) });
        what = "control";
      } else {
        const base = structuredClone(r.pick(pool)) as unknown as Json;
        const donor = structuredClone(r.pick(r.chance(0.3) ? foreign : pool)) as unknown as Json;
        let frame: Json = { type: "send", envelope: base };
        const kinds: string[] = [];
        const n = 1 + r.int(3);
        for (let k = 0; k < n; k++) {
          const layer = r.int(10);
          if (layer < 6) kinds.push(mutateValue(r, base, donor));
          else if (layer < 7) {
            frame = r.pick<Json>([
              base,
              { type: r.pick(["ack", "ping", "hello", "sent", "SEND", ""]), envelope: base },
              { type: "send", envelope: [base] },
              { type: "send", envelope: base, extra: 1 },
              { type: "send" },
              [frame],
            ]);
            kinds.push("frame");
          } else kinds.push("text");
        }
        text = JSON.stringify(frame);
        for (const k of kinds) if (k === "text") text = mutateText(r, text);
        what = kinds.join("+");
      }
      count(stats.mutations, what.split("+")[0]!);
      const answer = await exchange(p.a, text);
      if (!answer) {
        stats.silent++;
        continue;
      }
      if (answer.type === "error") {
        count(stats.refused, answer.code);
        assert(answer.code !== "internal", `internal error for: ${text.slice(0, 300)}`);
        continue;
      }
      assert(answer.type === "accepted");
      // The relay accepted it: it must be a valid envelope signed by the sender's key.
      const parsed = JSON.parse(text);
      const envelope = parseEnvelope(parsed.envelope);
      assertEquals(envelope.from, p.alice.handle);
      await verifyEnvelope(envelope, aliceKey);
      assertEquals(answer.id, envelope.id);
      assert(!accepted.has(envelope.id), `accepted twice: ${envelope.id}`);
      accepted.set(envelope.id, canonicalJson(envelope));
      stats.accepted++;
      if (i % 250 === 0) {
        const h = await api(relay, "GET", "/health");
        assertEquals(h.status, 200);
      }
    }

    // Everything accepted reaches its recipient once, exactly as accepted; nothing else does.
    // Bounded polling of the relay's /health until every delivery was acked.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const h = await api(relay, "GET", "/health");
      const done = [...accepted.keys()].every((id) => delivered.has(id));
      if (h.body?.queue_depth === 0 && done) break;
      assert(Date.now() < deadline, `not settled: queue ${h.body?.queue_depth}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    for (const [id, n] of delivered) {
      if (setupIds.has(id)) continue;
      assert(accepted.has(id), `delivered but never accepted: ${id}`);
      assertEquals(n, 1, `${id} delivered ${n} times`);
      assertEquals(deliveredBody.get(id), accepted.get(id), `${id} changed in transit`);
    }
    for (const id of accepted.keys()) assert(delivered.has(id), `accepted, never delivered: ${id}`);
    // relay.db holds no envelope that was not accepted.
    for (const id of await relayEnvelopeIds(relay)) {
      assert(setupIds.has(id) || accepted.has(id), `stored but not accepted: ${id}`);
    }
    await http.verifyFinal();
    const h = await api(relay, "GET", "/health");
    assertEquals(h.status, 200);
    console.log(
      `FUZZ seed=${SEED} ws=${stats.ws} http=${stats.http} accepted=${stats.accepted} silent=${stats.silent} http2xx=${stats.http2xx}`,
    );
    console.log(`FUZZ refused ${JSON.stringify(Object.fromEntries(stats.refused))}`);
    console.log(`FUZZ http ${JSON.stringify(Object.fromEntries(stats.httpStatus))}`);
    console.log(`FUZZ mutations ${JSON.stringify(Object.fromEntries(stats.mutations))}`);
    assert(stats.accepted > 0 && stats.refused.size > 5, "the fuzzer reached both outcomes");
  });
});

async function relayEnvelopeIds(relay: TestRelay): Promise<string[]> {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(relay.dbPath, { readOnly: true });
  try {
    return (db.prepare("SELECT id FROM envelopes").all() as { id: string }[]).map((x) => x.id);
  } finally {
    db.close();
  }
}

/** HTTP side: registrations, invites, permissions, signup and look-ups, mutated. */
class HttpFuzz {
  /** What the relay must hold for each handle we registered: the keys of the last 2xx. */
  private readonly registered = new Map<string, { signing: string; encryption: string }>();
  private readonly keyring = new Map<string, Awaited<ReturnType<typeof generateAgentKeys>>>();
  private n = 0;

  constructor(
    private readonly relay: TestRelay,
    private readonly p: Parties,
    private readonly r: Rng,
  ) {}

  async step(): Promise<number> {
    const r = this.r;
    const kind = r.int(6);
    let method = "POST";
    let path = "/v1/agents";
    let body: Json;
    const token: string = r.chance(0.9)
      ? this.p.tokens.alice!
      : r.pick([this.p.tokens.bob!, "tfr.x.y", ""]);
    if (kind <= 2) {
      body = await this.registration();
    } else if (kind === 3) {
      path = "/v1/invites";
      body = { agent: this.p.alice.handle, ttl_seconds: 3600, max_uses: 3 };
    } else if (kind === 4) {
      method = "PUT";
      path = "/v1/permissions";
      body = {
        agent: this.p.alice.handle,
        peer: this.p.bob.handle,
        permissions: {
          can_message: true,
          can_send_task: true,
          can_send_artifact: true,
          max_rate_per_minute: 100_000,
          max_open_tasks: 10_000,
          require_human_gate: false,
        },
      };
    } else {
      method = "GET";
      path = `/v1/agents/${mutateString(r, this.p.bob.handle)}`;
      if (r.chance(0.3)) path = `/v1/invites/${mutateString(r, "W8o8hq6ywRDp2XS_fJRt4Q-c")}`;
      if (r.chance(0.2)) path = mutateString(r, path);
      body = null;
    }
    let text: string | null = body === null ? null : JSON.stringify(body);
    if (body !== null && r.chance(0.85)) {
      const copy = structuredClone(body);
      const mode = r.int(3);
      if (mode === 0) mutateValue(r, copy, copy);
      text = JSON.stringify(copy);
      if (mode >= 1) text = mutateText(r, text);
    }
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (text !== null) {
      headers["content-type"] = r.pick([
        "application/json",
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/jsonx",
      ]);
    }
    let url: URL;
    try {
      url = new URL(this.relay.url + (path.startsWith("/") ? path : `/${path}`));
    } catch {
      return 0; // a mutation made an invalid URL: nothing to send
    }
    // A mutation may have turned the path into another authority ("…@host"): skip those.
    if (url.origin !== new URL(this.relay.url).origin) return 0;
    // A network error here (the relay gone) fails the test.
    const res = await fetch(url, { method, headers, body: text });
    const answer = await res.text();
    if (res.status >= 500) {
      throw new Error(`${method} ${path} → ${res.status} ${answer}\nbody: ${text?.slice(0, 400)}`);
    }
    if (method === "POST" && path === "/v1/agents" && res.ok && text !== null) {
      await this.checkRegistration(text, token);
    }
    return res.status;
  }

  /** A valid registration: new agent, same keys again, or a signed rotation. */
  private async registration(): Promise<Json> {
    const r = this.r;
    const known = [...this.keyring.keys()];
    const handle = known.length > 0 && r.chance(0.5) ? r.pick(known) : `@alice/f${this.n++}`;
    const old = this.keyring.get(handle);
    const keys = old && r.chance(0.5) ? old : await generateAgentKeys();
    const pub = {
      signing_public_key: encodeBase64Url(keys.signing.publicKey),
      encryption_public_key: encodeBase64Url(keys.encryption.publicKey),
    };
    const body: Record<string, Json> = {
      handle,
      ...pub,
      proof: encodeBase64Url(
        await sign(keys.signing.privateKey, registrationInput(handle, pub, "alice")),
      ),
    };
    if (old && old !== keys) {
      body.rotation = encodeBase64Url(
        await sign(old.signing.privateKey, rotationInput(handle, pub)),
      );
    }
    this.pending = { handle, keys };
    return body;
  }

  private pending: { handle: string; keys: Awaited<ReturnType<typeof generateAgentKeys>> } | null =
    null;

  /** A 2xx registration must be properly signed, whatever the mutation did. */
  private async checkRegistration(text: string, token: string) {
    const body = JSON.parse(text);
    const clientId = token.split(".")[1]!;
    const pub = {
      signing_public_key: body.signing_public_key,
      encryption_public_key: body.encryption_public_key,
    };
    assert(
      await verify(
        decodeBase64Url(pub.signing_public_key),
        registrationInput(body.handle, pub, clientId),
        decodeBase64Url(body.proof),
      ),
      `registered without a valid proof: ${text}`,
    );
    const before = this.registered.get(body.handle);
    if (before && before.signing !== pub.signing_public_key) {
      assert(
        typeof body.rotation === "string" &&
          await verify(
            decodeBase64Url(before.signing),
            rotationInput(body.handle, pub),
            decodeBase64Url(body.rotation),
          ),
        `keys changed without a rotation by the old key: ${text}`,
      );
    }
    if (before && before.encryption !== pub.encryption_public_key) {
      assert(typeof body.rotation === "string", `encryption key changed without rotation`);
    }
    this.registered.set(body.handle, {
      signing: pub.signing_public_key,
      encryption: pub.encryption_public_key,
    });
    const pending = this.pending;
    if (pending && pending.handle === body.handle) {
      const k = pending.keys;
      if (encodeBase64Url(k.signing.publicKey) === pub.signing_public_key) {
        this.keyring.set(body.handle, k);
      }
    }
  }

  /** Every handle registered here holds the keys of its last accepted registration. */
  async verifyFinal() {
    for (const [handle, keys] of this.registered) {
      const a = await this.relay.relay.store.getAgent(handle);
      assertEquals(
        [a?.signing_public_key, a?.encryption_public_key],
        [keys.signing, keys.encryption],
        handle,
      );
    }
  }
}
