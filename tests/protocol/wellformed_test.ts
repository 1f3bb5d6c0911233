/**
 * Issue 13: no payload schema accepts a string with a lone UTF-16 surrogate, anywhere — named
 * fields, free-form `data` / `inputs`, object keys. The sender refuses with `validation_failed`
 * before sealing; a receiver that is sent one anyway (a hostile or buggy peer can write
 * "\ud800" as a JSON escape) refuses it with `invalid_payload`.
 */
import { assert, assertCode, assertEquals } from "../assert.ts";
import {
  aadObject,
  arrayBufferOf,
  canonicalBytes,
  canonicalJson,
  encodeBase64Url,
  type Envelope,
  jsonValueProblem,
  type MessageType,
  newId,
  openEnvelope,
  parseEnvelope,
  PAYLOAD_SCHEMAS,
  sealEnvelope,
  sign,
  signingInput,
} from "../../lib/protocol/mod.ts";
import { seededRandom, testKeys } from "../vectors/generate.ts";

const LONE = ["\ud800", "a\udc00b", "\udbff", "x\ud83d"]; // high, low, both ends, truncated pair
const ALICE = "@alice/requester";
const BOB = "@bob/writer";

/** For each type a payload with every string member present, free-form JSON included. */
const FULL: Record<MessageType, Record<string, unknown>> = {
  connection_request: { note: "hi", invite: "code1234" },
  connection_accept: { request_id: newId("msg") },
  connection_decline: { request_id: newId("msg"), reason: "no" },
  message: { text: "hello", data: { k: ["v", { deep: "w" }], n: 1, ok: true, z: null } },
  task_request: {
    title: "Write",
    instructions: "Write it.",
    inputs: { topic: "sea", list: ["a", { b: "c" }] },
  },
  task_accept: { note: "on it" },
  task_decline: { reason: "busy" },
  artifact_submit: {
    version: 1,
    content: "draft",
    content_type: "text/markdown",
    name: "a.md",
    note: "n",
  },
  revision_request: { artifact_version: 1, feedback: "shorter" },
  task_complete: { note: "thanks" },
  task_cancel: { reason: "changed my mind" },
  receipt: { message_id: newId("msg"), state: "failed", reason: "crashed" },
  task_progress: { text: "step 1", queue_position: 2 },
  task_fail: { reason: "it broke", code: "exit_1" },
  task_claim: { note: "mine" },
  task_assign: { worker: "@bob/reviewer", round: 1 },
};

/** Every way to put `bad` into `value`: each string value, and each object key, replaced. */
function* corruptions(value: unknown, bad: string, path = ""): Generator<[string, unknown]> {
  if (typeof value === "string") {
    yield [path, bad];
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      for (const [p, v] of corruptions(value[i], bad, `${path}[${i}]`)) {
        yield [p, value.map((x, j) => (j === i ? v : x))];
      }
    }
  } else if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    for (const [k, item] of entries) {
      for (const [p, v] of corruptions(item, bad, `${path}.${k}`)) {
        yield [p, { ...value, [k]: v }];
      }
      // Keys of free-form JSON only: a bad key elsewhere is refused as unknown anyway.
      if (path.startsWith(".data") || path.startsWith(".inputs")) {
        yield [
          `${path}{key ${k}}`,
          Object.fromEntries(entries.map(([x, y]) => [x === k ? bad : x, y])),
        ];
      }
    }
  }
}

Deno.test("every FULL sample is valid (so a refusal below is the surrogate's doing)", () => {
  for (const [type, value] of Object.entries(FULL) as [MessageType, unknown][]) {
    assert(PAYLOAD_SCHEMAS[type].safeParse(value).success, type);
  }
});

Deno.test("no payload schema accepts a lone surrogate in any string, key or nested value", () => {
  let checked = 0;
  for (const [type, value] of Object.entries(FULL) as [MessageType, unknown][]) {
    for (const bad of LONE) {
      for (const [path, corrupt] of corruptions(value, bad)) {
        // Ids and enums are ASCII patterns and refuse anything else already; check them too.
        assert(
          !PAYLOAD_SCHEMAS[type].safeParse(corrupt).success,
          `${type}${path} = ${JSON.stringify(bad)}`,
        );
        checked++;
      }
    }
  }
  assert(checked >= 140, `only ${checked} cases`);
});

Deno.test("well-formed non-ASCII text, surrogate pairs included, is accepted", () => {
  const text = "Grüße, 世界 — 🚢 \u{10FFFF}";
  for (const [type, value] of Object.entries(FULL) as [MessageType, Record<string, unknown>][]) {
    const key = Object.keys(value).find((k) => ["text", "title", "reason", "note"].includes(k));
    if (!key) continue;
    assert(PAYLOAD_SCHEMAS[type].safeParse({ ...value, [key]: text }).success, type);
  }
  const data = { "🚢 key": ["é", { "世界": "\u{1F600}" }] };
  assert(PAYLOAD_SCHEMAS.message.safeParse({ data }).success);
  assertEquals(canonicalJson(data).length > 0, true);
});

Deno.test("free-form JSON: non-JSON values are refused; any depth is checked without recursion", () => {
  assertEquals(jsonValueProblem({ a: [1, "x", null, true, { b: 2.5 }] }), null);
  for (const bad of [undefined, () => 1, 1n, Infinity, NaN, new Date(), new Map(), Symbol("s")]) {
    assert(jsonValueProblem({ v: bad }) !== null, String(bad));
  }
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert(jsonValueProblem(cyclic) !== null);
  // Free-form data is carried however deep (tests/client/hostile_test.ts): the check is
  // iterative, so hostile depth is neither a RangeError nor refused for being deep.
  const text = "[".repeat(200_000) + '"ok"' + "]".repeat(200_000);
  assert(PAYLOAD_SCHEMAS.message.safeParse({ data: JSON.parse(text) }).success);
  const bad = "[".repeat(200_000) + '"\\ud800"' + "]".repeat(200_000);
  const r = PAYLOAD_SCHEMAS.message.safeParse({ data: JSON.parse(bad) });
  assert(!r.success);
});

function header(type: MessageType, taskId?: string) {
  const h = {
    v: 1 as const,
    id: newId("msg"),
    type,
    from: ALICE,
    to: [BOB],
    created_at: new Date().toISOString(),
    device_id: newId("dev"),
  };
  return taskId ? { ...h, task_id: taskId } : h;
}

Deno.test("sealEnvelope refuses a lone surrogate with validation_failed and seals nothing", async () => {
  const alice = await testKeys(ALICE);
  const bob = await testKeys(BOB);
  const sender = { handle: ALICE, signingPrivateKey: alice.signing.privateKey };
  const to = [{ handle: BOB, encryptionPublicKey: bob.encryption.publicKey }];
  const err = await assertCode(
    () =>
      sealEnvelope(
        header("task_request", newId("task")),
        { title: "\ud800", instructions: "x" },
        sender,
        to,
      ),
    "validation_failed",
  );
  assert(err.message.includes("title"), err.message);
  assert(err.cause !== undefined, "the zod error is kept as the cause");
  await assertCode(
    () => sealEnvelope(header("message"), { data: { ["k\udfff"]: 1 } }, sender, to),
    "validation_failed",
  );
  // Any other schema violation is refused the same way: a payload is checked before sealing.
  await assertCode(
    () => sealEnvelope(header("task_progress", newId("task")), { text: "" }, sender, to),
    "validation_failed",
  );
});

/**
 * Seals `plaintextJson` verbatim, as a peer that skips validation would: seal a valid payload
 * with known randomness, then replace the ciphertext and re-sign.
 */
async function sealRaw(type: MessageType, plaintextJson: string, taskId?: string) {
  const alice = await testKeys(ALICE);
  const bob = await testKeys(BOB);
  const seed = `raw ${plaintextJson}`;
  const h = header(type, taskId);
  const valid = await sealEnvelope(
    h,
    FULL[type],
    { handle: ALICE, signingPrivateKey: alice.signing.privateKey },
    [{ handle: BOB, encryptionPublicKey: bob.encryption.publicKey }],
    { random: await seededRandom(seed) },
  );
  const random = await seededRandom(seed);
  const k = random(32), nonce = random(12);
  const aes = await crypto.subtle.importKey("raw", arrayBufferOf(k), "AES-GCM", false, ["encrypt"]);
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      {
        name: "AES-GCM",
        iv: arrayBufferOf(nonce),
        additionalData: arrayBufferOf(canonicalBytes(aadObject(h, "application/json"))),
      },
      aes,
      arrayBufferOf(new TextEncoder().encode(plaintextJson)),
    ),
  );
  const unsigned = { ...valid, payload: { ...valid.payload, ciphertext: encodeBase64Url(ct) } };
  const sig = await sign(alice.signing.privateKey, signingInput(unsigned));
  const env: Envelope = parseEnvelope(
    JSON.parse(JSON.stringify({ ...unsigned, sig: encodeBase64Url(sig) })),
  );
  const open = () =>
    openEnvelope(
      env,
      BOB,
      {
        encryptionPrivateKey: bob.encryption.privateKey,
        encryptionPublicKey: bob.encryption.publicKey,
      },
      alice.signing.publicKey,
    );
  return open;
}

Deno.test("a receiver refuses a peer's lone surrogate (a JSON escape) with invalid_payload", async () => {
  const task = newId("task");
  // The control: the same path with a good string opens.
  const good = await sealRaw("task_request", '{"title":"ok","instructions":"x"}', task);
  assertEquals(await good(), { title: "ok", instructions: "x" });
  for (
    const [type, json] of [
      ["task_request", '{"title":"\\ud800","instructions":"x"}'],
      ["message", '{"data":{"a":["\\udc00"]}}'],
      ["message", '{"data":{"\\ud800":1}}'],
      ["task_request", '{"title":"t","instructions":"x","inputs":{"k":{"\\udbff":"v"}}}'],
      ["task_progress", '{"text":"50% \\ud83d"}'],
      ["task_fail", '{"reason":"\\udfff"}'],
    ] as [MessageType, string][]
  ) {
    const open = await sealRaw(type, json, type === "message" ? undefined : task);
    await assertCode(open, "invalid_payload");
  }
});

Deno.test("an envelope type this code does not know is a clean schema refusal", () => {
  const env = {
    v: 1,
    id: newId("msg"),
    type: "task_heartbeat",
    from: ALICE,
    to: [BOB],
    task_id: newId("task"),
    created_at: new Date().toISOString(),
    device_id: newId("dev"),
    payload: {},
    sig: "A".repeat(86),
  };
  return assertCode(() => parseEnvelope(env), "invalid_envelope").then((err) => {
    assert(err.message.includes("type"), err.message);
  });
});
