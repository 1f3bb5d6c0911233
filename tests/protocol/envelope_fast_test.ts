/**
 * The relay's hand-written envelope check (lib/protocol/envelope_fast.ts) against the schema,
 * the one definition of a valid envelope: on a corpus of valid envelopes and of mutations of
 * them, whatever the fast check accepts the schema accepts, with the same output; what it
 * leaves to the schema (blobs aside) the schema refuses; and the signing text it writes is
 * byte for byte the JCS form.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  canonicalJson,
  type Envelope,
  EnvelopeSchema,
  MESSAGE_TYPES,
  newId,
  parseEnvelope,
  parseReceivedEnvelope,
  signingInput,
  TaskferryError,
} from "../../lib/protocol/mod.ts";
import { fastEnvelope, fastSigningText } from "../../lib/protocol/envelope_fast.ts";

type Json = Record<string, unknown>;
const b64 = (chars: number, c = "A") => c.repeat(chars);

/** A seeded generator, so a failure reproduces. */
function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}

function base(type: string, to: string[], extra: Json = {}): Json {
  return {
    v: 1,
    id: newId("msg"),
    type,
    from: "@alice/requester",
    to,
    ...extra,
    created_at: "2026-11-21T20:00:00.000Z",
    device_id: newId("dev"),
    payload: {
      alg: "HPKE-X25519-SHA256-A256GCM",
      content_type: "application/json",
      nonce: b64(16, "n"),
      ciphertext: "c-_9".repeat(40),
      keys: to.map((h) => ({ to: h, enc: b64(43, "e"), wrapped: b64(64, "w") })),
    },
    sig: b64(86, "s"),
  };
}

/** Valid envelopes of every type and optional-field combination. */
function valid(): Json[] {
  const out: Json[] = [];
  for (const type of MESSAGE_TYPES) {
    const task = { task_id: newId("task") };
    out.push(base(type, ["@bob/writer"], task));
    out.push(base(type, ["@bob/writer"], { ...task, conversation_id: newId("conv") }));
    out.push(base(type, ["@bob/writer"], { ...task, reply_to: newId("msg") }));
    out.push(base(type, ["@bob/writer", "@carol/x"], task));
    out.push(base(type, ["@bob/writer"]));
  }
  return out;
}

/** Values that replace a field in the mutations. */
const ODD: unknown[] = [
  undefined,
  null,
  0,
  1,
  2,
  "",
  "x",
  true,
  [],
  {},
  ["@bob/writer"],
  "@bob/writer",
  "@alice/requester",
  newId("msg"),
  newId("task"),
  newId("conv"),
  newId("dev"),
  "2026-02-30T20:00:00.000Z",
  "2026-11-21T20:00:00Z",
  "2026-11-21T24:00:00.000Z",
  b64(86, "s"),
  b64(85, "s"),
  b64(86, "+"),
  b64(43),
  b64(64),
  b64(16),
  "HPKE-X25519-SHA256-A256GCM",
  "application/json",
  ["@bob/writer", "@bob/writer"],
  Array.from({ length: 33 }, (_, i) => `@c${i}/x`),
  [{ to: "@bob/writer", enc: b64(43), wrapped: b64(64) }],
  [{ to: "@bob/writer", enc: b64(43), wrapped: b64(64), x: 1 }],
  [{ to: "@carol/x", enc: b64(43), wrapped: b64(64) }],
];

function hasUndefined(value: unknown): boolean {
  if (value === undefined) return true;
  return typeof value === "object" && value !== null && Object.values(value).some(hasUndefined);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Every value at a path of `value` (objects and arrays), for mutation. */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.push(...paths(v, [...at, Array.isArray(value) ? Number(k) : k]));
    }
  }
  return out;
}

function setAt(root: Json, path: (string | number)[], v: unknown, remove = false) {
  let o = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove) delete o[last];
  else o[last] = v;
}

function corpus(): unknown[] {
  const random = rng(21);
  const out: unknown[] = [...valid()];
  for (const env of valid()) {
    for (const path of paths(env).slice(1)) {
      const gone = clone(env);
      setAt(gone, path, undefined, true);
      out.push(gone);
      for (const odd of ODD) {
        if (random() > 0.35) continue;
        const changed = clone(env);
        setAt(changed, path, clone(odd));
        out.push(changed);
      }
    }
    const extra = clone(env);
    extra.extra = 1;
    out.push(extra);
    const extraPayload = clone(env);
    (extraPayload.payload as Json).extra = 1;
    out.push(extraPayload);
    // Text-level damage: a character changed, kept when it is still JSON.
    const text = JSON.stringify(env);
    for (let i = 0; i < 40; i++) {
      const at = Math.floor(random() * text.length);
      const ch = String.fromCharCode(32 + Math.floor(random() * 95));
      try {
        out.push(JSON.parse(text.slice(0, at) + ch + text.slice(at + 1)));
      } catch {
        // not JSON any more
      }
    }
  }
  out.push(null, 1, "x", [], [valid()[0]], Object.create(null));
  out.push(JSON.parse(`{"__proto__":{"v":1},${JSON.stringify(valid()[0]).slice(1)}`));
  return out;
}

Deno.test("fastEnvelope accepts exactly what EnvelopeSchema accepts, with the same output", () => {
  let accepted = 0;
  let refused = 0;
  for (const value of corpus()) {
    const fast = fastEnvelope(value);
    const schema = EnvelopeSchema.safeParse(value);
    const label = JSON.stringify(value)?.slice(0, 300);
    if (fast !== null) {
      assert(schema.success, `fast accepted what the schema refuses: ${label}`);
      assertEquals(JSON.stringify(fast), JSON.stringify(schema.data), label);
      assertEquals(fast, schema.data, label);
      assert(Object.isFrozen(fast) && Object.isFrozen(fast.payload.keys[0]));
      accepted++;
    } else {
      // A key present with `undefined` (no JSON text has one) is left to the schema on purpose.
      const json = !hasUndefined(value);
      assert(!schema.success || !json, `fast left a valid envelope to the schema: ${label}`);
      refused++;
    }
  }
  assert(accepted > 50 && refused > 500, `${accepted} accepted, ${refused} refused`);
});

Deno.test("fastSigningText is the JCS form of the envelope without sig", () => {
  for (const value of corpus()) {
    const fast = fastEnvelope(value);
    if (!fast) continue;
    const { sig: _sig, ...unsigned } = fast;
    assertEquals(fastSigningText(fast), canonicalJson(unsigned));
    assertEquals(signingInput(fast), new TextEncoder().encode(canonicalJson(unsigned)));
  }
  // Only for envelopes it built: anything else goes through the canonicalizer.
  const parsed = parseEnvelope(valid()[0]);
  assertEquals(fastSigningText(parsed), null);
});

Deno.test("parseReceivedEnvelope refuses with the schema's codes and messages", () => {
  for (const value of corpus()) {
    let fastErr: unknown = null;
    let schemaErr: unknown = null;
    let out: Envelope | null = null;
    try {
      out = parseReceivedEnvelope(value);
    } catch (err) {
      fastErr = err;
    }
    try {
      parseEnvelope(value);
    } catch (err) {
      schemaErr = err;
    }
    if (schemaErr === null) {
      assert(out !== null);
      continue;
    }
    assert(fastErr instanceof TaskferryError && schemaErr instanceof TaskferryError);
    assertEquals(
      [fastErr.code, fastErr.message],
      [(schemaErr as TaskferryError).code, (schemaErr as TaskferryError).message],
    );
  }
});
