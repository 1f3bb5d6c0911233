import { assert, assertEquals } from "../assert.ts";
import {
  describeIssues,
  EnvelopeSchema,
  HeaderSchema,
  isTaskType,
  MAX_RECIPIENTS,
  MESSAGE_TYPES,
  type MessageType,
  OFFER_TYPES,
  parsePayload,
  PAYLOAD_ALG,
  PAYLOAD_SCHEMAS,
  TASK_TYPES,
  TimestampSchema,
} from "../../lib/protocol/mod.ts";
import { newId } from "../../lib/protocol/ids.ts";

// Schema checks are about form only, so fixed-length filler stands in for real crypto output.
const b64 = (chars: number) => "A".repeat(chars);
const ENC = b64(43); // 32 bytes
const WRAPPED = b64(64); // 48 bytes
const NONCE = b64(16); // 12 bytes
const SIG = b64(86); // 64 bytes

type Json = Record<string, unknown>;

function keyEntry(to: string): Json {
  return { to, enc: ENC, wrapped: WRAPPED };
}

function envelope(overrides: Json = {}, payload: Json = {}): Json {
  const to = (overrides.to as string[] | undefined) ?? ["@bob/writer"];
  return {
    v: 1,
    id: newId("msg"),
    type: "message",
    from: "@alice/requester",
    to,
    conversation_id: newId("conv"),
    created_at: "2026-11-21T20:00:00.000Z",
    device_id: newId("dev"),
    payload: {
      alg: PAYLOAD_ALG,
      content_type: "application/json",
      nonce: NONCE,
      ciphertext: "c2VjcmV0",
      keys: to.map(keyEntry),
      ...payload,
    },
    sig: SIG,
    ...overrides,
  };
}

function taskEnvelope(type: string, overrides: Json = {}): Json {
  return envelope({ type, task_id: newId("task"), ...overrides });
}

function accepts(value: unknown) {
  const r = EnvelopeSchema.safeParse(value);
  assert(r.success, `expected success: ${r.success ? "" : describeIssues(r.error)}`);
}

/** Expects a refusal; when `path` is given, one issue must be at that path. */
function refuses(value: unknown, path?: string) {
  const r = EnvelopeSchema.safeParse(value);
  assert(!r.success, `expected failure for ${JSON.stringify(value).slice(0, 200)}`);
  if (path !== undefined) {
    const paths = r.error.issues.map((i) => i.path.join("."));
    assert(paths.includes(path), `expected an issue at ${path}, got ${paths.join(", ")}`);
  }
}

Deno.test("valid envelopes are accepted", () => {
  accepts(envelope());
  accepts(envelope({ to: ["@bob/writer", "@carol/reviewer", "@alice/other"] }));
  accepts(envelope({ reply_to: newId("msg") }));
  const { conversation_id: _c, ...minimal } = envelope();
  accepts(minimal);
  for (const type of TASK_TYPES) accepts(taskEnvelope(type));
  accepts(envelope({ type: "receipt", to: ["@bob/writer", "@carol/x"] }));
  const many = Array.from({ length: MAX_RECIPIENTS }, (_, i) => `@peer/agent-${i}`);
  accepts(envelope({ to: many }));
});

Deno.test("unknown fields are refused at every level", () => {
  const unknownAt = (value: unknown, path: string) => {
    const r = EnvelopeSchema.safeParse(value);
    assert(!r.success, `accepted an unknown field at ${path || "(root)"}`);
    const hit = r.error.issues.find((i) =>
      i.code === "unrecognized_keys" && i.path.join(".") === path && i.keys.includes("extra")
    );
    assert(hit, `no unrecognized_keys issue at ${path}: ${describeIssues(r.error)}`);
  };
  unknownAt({ ...envelope(), extra: 1 }, "");
  unknownAt(envelope({}, { extra: 1 }), "payload");
  const env = envelope();
  (env.payload as Json).keys = [{ ...keyEntry("@bob/writer"), extra: "x" }];
  unknownAt(env, "payload.keys.0");
});

Deno.test("missing required fields are refused", () => {
  for (const field of ["v", "id", "type", "from", "to", "created_at", "device_id", "payload"]) {
    const env = envelope();
    delete env[field];
    refuses(env, field);
  }
  const noSig = envelope();
  delete noSig.sig;
  refuses(noSig, "sig");
  for (const field of ["alg", "content_type", "nonce", "ciphertext", "keys"]) {
    const env = envelope();
    delete (env.payload as Json)[field];
    refuses(env, `payload.${field}`);
  }
});

Deno.test("wrong protocol version is refused", () => {
  for (const v of [0, 2, "1", 1.5, null]) refuses(envelope({ v }), "v");
});

Deno.test("recipients must be distinct and exclude the sender", () => {
  refuses(envelope({ to: ["@bob/writer", "@bob/writer"] }), "to");
  refuses(envelope({ to: ["@alice/requester"] }), "to");
  refuses(envelope({ to: ["@bob/writer", "@alice/requester"] }), "to");
  refuses(envelope({ to: [] }));
  const tooMany = Array.from({ length: MAX_RECIPIENTS + 1 }, (_, i) => `@peer/agent-${i}`);
  refuses(envelope({ to: tooMany }));
});

Deno.test("task types need task_id and exactly one recipient", () => {
  for (const type of TASK_TYPES) {
    refuses(envelope({ type }), "task_id");
    const several = taskEnvelope(type, { to: ["@bob/writer", "@carol/writer"] });
    // An offer and its assignment name every candidate (design §13).
    if (OFFER_TYPES.includes(type)) accepts(several);
    else refuses(several, "to");
  }
  // Non-task types may carry several recipients and no task_id.
  for (const type of MESSAGE_TYPES.filter((t) => !isTaskType(t))) {
    accepts(envelope({ type, to: ["@bob/writer", "@carol/writer"] }));
  }
});

Deno.test("payload.keys must follow `to` exactly, in order", () => {
  const to = ["@bob/writer", "@carol/reviewer"];
  const swapped = envelope({ to }, { keys: [keyEntry(to[1]!), keyEntry(to[0]!)] });
  refuses(swapped, "payload.keys");
  refuses(envelope({ to }, { keys: [keyEntry(to[0]!)] }), "payload.keys");
  refuses(envelope({ to: [to[0]] }, { keys: to.map(keyEntry) }), "payload.keys");
  refuses(envelope({}, { keys: [keyEntry("@mallory/x")] }), "payload.keys");
  refuses(envelope({}, { keys: [] }));
});

Deno.test("field formats are checked", () => {
  refuses(envelope({ id: newId("task") }), "id");
  refuses(envelope({ id: "msg_123" }), "id");
  refuses(envelope({ type: "gossip" }), "type");
  refuses(envelope({ from: "alice" }), "from");
  refuses(envelope({ to: ["@Bob/writer"] }));
  refuses(envelope({ conversation_id: newId("msg") }), "conversation_id");
  refuses(envelope({ reply_to: newId("conv") }), "reply_to");
  refuses(taskEnvelope("task_accept", { task_id: newId("msg") }), "task_id");
  refuses(envelope({ device_id: newId("msg") }), "device_id");
  refuses(envelope({ sig: b64(85) }), "sig");
  refuses(envelope({ sig: b64(85) + "=" }), "sig");
  refuses(envelope({}, { alg: "RSA" }), "payload.alg");
  refuses(envelope({}, { content_type: "text/plain" }), "payload.content_type");
  refuses(envelope({}, { nonce: b64(15) }), "payload.nonce");
  refuses(envelope({}, { ciphertext: "" }), "payload.ciphertext");
  refuses(envelope({}, { ciphertext: "a+b/" }), "payload.ciphertext");
  refuses(envelope({}, { keys: [{ to: "@bob/writer", enc: b64(42), wrapped: WRAPPED }] }));
  refuses(envelope({}, { keys: [{ to: "@bob/writer", enc: ENC, wrapped: b64(63) }] }));
});

Deno.test("timestamps must be real UTC instants written with milliseconds", () => {
  const good = ["2026-11-21T20:00:00.000Z", "2028-02-29T23:59:59.999Z", "1970-01-01T00:00:00.000Z"];
  for (const t of good) assert(TimestampSchema.safeParse(t).success, t);
  const bad = [
    "2026-11-21T20:00:00Z", // no milliseconds
    "2026-11-21T20:00:00.000+00:00",
    "2026-11-21 20:00:00.000Z",
    "2026-11-21T20:00:00.000z",
    "2026-13-01T00:00:00.000Z",
    "2026-02-30T00:00:00.000Z", // rolls over to March 2 in Date.parse
    "2027-02-29T00:00:00.000Z", // not a leap year
    "2026-04-31T00:00:00.000Z",
    "2026-01-01T24:00:00.000Z", // rolls over to the next day in Date.parse
    "2026-01-01T23:60:00.000Z",
    "",
  ];
  for (const t of bad) assert(!TimestampSchema.safeParse(t).success, t);
  refuses(envelope({ created_at: "2026-02-30T00:00:00.000Z" }), "created_at");
});

Deno.test("HeaderSchema applies the same header rules without crypto fields", () => {
  const { payload: _p, sig: _s, ...header } = envelope();
  assert(HeaderSchema.safeParse(header).success);
  assert(!HeaderSchema.safeParse({ ...header, sig: SIG }).success, "sig is not a header field");
  assert(!HeaderSchema.safeParse({ ...header, to: [header.from] }).success);
  assert(!HeaderSchema.safeParse({ ...header, type: "task_accept" }).success);
  assert(!HeaderSchema.safeParse({ ...header, to: ["@b/x", "@b/x"] }).success);
});

/** A valid and an invalid plaintext for each message type. */
const PAYLOAD_SAMPLES: Record<MessageType, { good: unknown[]; bad: unknown[] }> = {
  connection_request: {
    good: [{}, { note: "hi", invite: "inv_x", permissions: { can_message: false } }],
    bad: [{ note: 5 }, { permissions: { can_fly: true } }, { invite: "" }, { extra: 1 }],
  },
  connection_accept: {
    good: [{ request_id: newId("msg") }, { request_id: newId("msg"), permissions: {} }],
    bad: [{}, { request_id: newId("task") }, { request_id: newId("msg"), extra: 1 }],
  },
  connection_decline: {
    good: [{ request_id: newId("msg") }, { request_id: newId("msg"), reason: "no" }],
    bad: [{ reason: "no" }, { request_id: newId("msg"), reason: "x".repeat(2001) }],
  },
  message: {
    good: [{ text: "hello" }, { data: { any: ["thing"] } }, { text: "", data: null }],
    bad: [{}, { text: 1 }, { text: "hi", extra: true }],
  },
  task_request: {
    good: [
      { title: "Write", instructions: "Write a haiku." },
      {
        title: "Write",
        instructions: "",
        inputs: { topic: "sea" },
        deadline: "2026-11-22T20:00:00.000Z",
        max_revisions: 0,
      },
    ],
    bad: [
      { instructions: "x" },
      { title: "", instructions: "x" },
      { title: "x".repeat(201), instructions: "x" },
      { title: "t", instructions: "x", max_revisions: -1 },
      { title: "t", instructions: "x", max_revisions: 1.5 },
      { title: "t", instructions: "x", max_revisions: 101 },
      { title: "t", instructions: "x", deadline: "tomorrow" },
      { title: "t", instructions: "x", inputs: [] },
    ],
  },
  task_accept: { good: [{}, { note: "on it" }], bad: [{ note: 1 }, { eta: "soon" }] },
  task_decline: { good: [{}, { reason: "busy" }], bad: [{ reason: false }, { why: "x" }] },
  artifact_submit: {
    good: [
      { version: 1, content: "draft" },
      { version: 2, content: "", content_type: "text/markdown", name: "a.md", note: "n" },
    ],
    bad: [
      { content: "draft" },
      { version: 0, content: "draft" },
      { version: 1.5, content: "draft" },
      { version: 1 },
      { version: 1, content: "d", content_type: "" },
    ],
  },
  revision_request: {
    good: [{ artifact_version: 1, feedback: "shorter" }],
    bad: [{ feedback: "x" }, { artifact_version: 0, feedback: "x" }, { artifact_version: 1 }],
  },
  task_complete: {
    good: [{}, { artifact_version: 2, note: "thanks" }],
    bad: [{ artifact_version: 0 }, { rating: 5 }],
  },
  task_cancel: { good: [{}, { reason: "changed my mind" }], bad: [{ reason: 1 }, { now: true }] },
  receipt: {
    good: [
      { message_id: newId("msg"), state: "read" },
      { message_id: newId("msg"), state: "processed" },
      { message_id: newId("msg"), state: "failed", reason: "crashed" },
      { message_id: newId("msg"), state: "delivered" },
      { message_id: newId("msg"), message_ids: [newId("msg"), newId("msg")], state: "delivered" },
    ],
    bad: [
      { message_id: newId("msg"), state: "received" },
      { state: "read" },
      { message_id: newId("msg"), state: "read", extra: 1 },
      { message_id: newId("msg"), message_ids: [], state: "delivered" },
      { message_id: newId("msg"), message_ids: [newId("task")], state: "delivered" },
      {
        message_id: newId("msg"),
        message_ids: Array.from({ length: 256 }, () => newId("msg")),
        state: "delivered",
      },
    ],
  },
  task_progress: {
    good: [{ text: "step 1 of 3" }, { text: "x".repeat(8000), queue_position: 1 }],
    bad: [
      {},
      { text: "" },
      { text: "x".repeat(8001) },
      { text: "waiting", queue_position: 0 },
      { text: "waiting", queue_position: 1.5 },
      { text: "waiting", percent: 50 },
    ],
  },
  task_fail: {
    good: [{ reason: "the build broke" }, { reason: "r".repeat(4000), code: "exit_1" }],
    bad: [
      {},
      { reason: "" },
      { reason: "r".repeat(4001) },
      { reason: "x", code: "Exit-1" },
      { reason: "x", code: "" },
      { reason: "x", code: "c".repeat(65) },
      { reason: "x", retry: true },
    ],
  },
  task_claim: {
    good: [{}, { note: "I can take it" }],
    bad: [{ note: 1 }, { worker: "@a/b" }],
  },
  task_assign: {
    good: [{ worker: "@bob/reviewer" }, { worker: "@bob/reviewer", round: 2 }, {
      lapsed: "@bob/reviewer",
      round: 2,
    }],
    bad: [
      {},
      { worker: "bob" },
      { worker: "@bob/reviewer", round: 0 },
      { worker: "@b/r", x: 1 },
      { worker: "@b/r", lapsed: "@c/r" },
    ],
  },
};

Deno.test("every message type has a payload schema", () => {
  assertEquals(Object.keys(PAYLOAD_SCHEMAS).sort(), [...MESSAGE_TYPES].sort());
  assertEquals(Object.keys(PAYLOAD_SAMPLES).sort(), [...MESSAGE_TYPES].sort());
});

Deno.test("every payload schema accepts valid samples and refuses bad ones", () => {
  for (const type of MESSAGE_TYPES) {
    const { good, bad } = PAYLOAD_SAMPLES[type];
    for (const value of good) {
      const r = parsePayload(type, value);
      assert(r.success, `${type} refused ${JSON.stringify(value)}`);
      assertEquals(r.data, value);
    }
    for (const value of [...bad, null, "text", 42, []]) {
      assert(!parsePayload(type, value).success, `${type} accepted ${JSON.stringify(value)}`);
    }
  }
});

Deno.test("describeIssues names paths and caps the list", () => {
  const r = EnvelopeSchema.safeParse({});
  assert(!r.success);
  const text = describeIssues(r.error);
  assert(text.includes("id:"), text);
  assertEquals(text.split("; ").length, 5);
  const root = PAYLOAD_SCHEMAS.message.safeParse({});
  assert(!root.success);
  assert(describeIssues(root.error).startsWith("(root): "), describeIssues(root.error));
});

Deno.test("isTaskType matches TASK_TYPES", () => {
  for (const type of MESSAGE_TYPES) {
    assertEquals(isTaskType(type), (TASK_TYPES as readonly string[]).includes(type), type);
  }
  assertEquals(isTaskType("expire"), false);
});
