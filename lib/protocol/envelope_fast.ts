/**
 * The relay's hot path for envelopes (issue 21): a hand-written check of the common envelope
 * shape and its JCS signing text, built by concatenation instead of zod and a generic
 * canonicalizer. `EnvelopeSchema` (schemas.ts) stays the one definition of a valid envelope:
 * this check only ever says "certainly valid" or "ask the schema", so a refusal, and its
 * message, always comes from the schema (tests/protocol/envelope_fast_test.ts checks on a fuzz
 * corpus that the two agree, and that the signing text is byte for byte what JCS gives).
 *
 * Envelopes with `blobs` (files) are left to the schema: they are rare, and their refinements
 * (distinct ids, the file types) are not worth a second copy.
 * @module
 */
import { HANDLE_RE } from "./handles.ts";
import { idPattern } from "./ids.ts";
import {
  type Envelope,
  MAX_RECIPIENTS,
  MESSAGE_TYPES,
  OFFER_TYPES,
  PAYLOAD_ALG,
  TASK_TYPES,
} from "./schemas.ts";

const MSG_RE = idPattern("msg");
const TASK_RE = idPattern("task");
const CONV_RE = idPattern("conv");
const DEV_RE = idPattern("dev");
const B64U_RE = /^[A-Za-z0-9_-]*$/;
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TYPES: ReadonlySet<string> = new Set(MESSAGE_TYPES);
const TASKS: ReadonlySet<string> = new Set(TASK_TYPES);
const OFFERS: ReadonlySet<string> = new Set(OFFER_TYPES);
const ENVELOPE_KEYS: ReadonlySet<string> = new Set([
  "v",
  "id",
  "type",
  "from",
  "to",
  "conversation_id",
  "task_id",
  "reply_to",
  "created_at",
  "device_id",
  "payload",
  "sig",
]);

/** Envelopes this module built: their signing text may be written without a canonicalizer. */
const checked = new WeakSet<Envelope>();

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;
const str = (v: unknown, re: RegExp): v is string => typeof v === "string" && re.test(v);
const b64u = (v: unknown, chars: number): v is string =>
  typeof v === "string" && v.length === chars && B64U_RE.test(v);

/** Same rule as the schema's timestamp refinement: the text survives a round trip. */
function isTimestamp(v: unknown): v is string {
  if (typeof v !== "string" || !TIMESTAMP_RE.test(v)) return false;
  const ms = Date.parse(v);
  return !Number.isNaN(ms) && new Date(ms).toISOString() === v;
}

/** Exactly `keys` as own enumerable keys (no more, no fewer). */
function hasExactly(o: Record<string, unknown>, keys: readonly string[]): boolean {
  let n = 0;
  for (const k in o) {
    if (!keys.includes(k)) return false;
    n++;
  }
  return n === keys.length;
}

/**
 * `value` as a fresh, deeply frozen envelope object (the schema's field order) when it certainly passes
 * `EnvelopeSchema` and carries no `blobs`; null otherwise — then the caller runs the schema,
 * which refuses it with the usual message, or accepts a form this check leaves to it.
 */
export function fastEnvelope(value: unknown): Envelope | null {
  if (!isPlain(value)) return null;
  let n = 0;
  for (const k in value) {
    if (!ENVELOPE_KEYS.has(k)) return null;
    n++;
  }
  const { v, id, type, from, to, conversation_id, task_id, reply_to, created_at, device_id } =
    value;
  const optional = Number(conversation_id !== undefined) + Number(task_id !== undefined) +
    Number(reply_to !== undefined);
  // Every key seen is known; the count catches an optional key present with `undefined`.
  if (n !== 9 + optional) return null;
  if (
    v !== 1 || !str(id, MSG_RE) || typeof type !== "string" || !TYPES.has(type) ||
    !str(from, HANDLE_RE) || !Array.isArray(to) || to.length < 1 || to.length > MAX_RECIPIENTS ||
    (conversation_id !== undefined && !str(conversation_id, CONV_RE)) ||
    (task_id !== undefined && !str(task_id, TASK_RE)) ||
    (reply_to !== undefined && !str(reply_to, MSG_RE)) ||
    !isTimestamp(created_at) || !str(device_id, DEV_RE) || !b64u(value.sig, 86)
  ) return null;
  for (let i = 0; i < to.length; i++) {
    const h: unknown = to[i];
    if (!str(h, HANDLE_RE) || h === from || to.indexOf(h) !== i) return null;
  }
  if (TASKS.has(type) && (task_id === undefined || (to.length !== 1 && !OFFERS.has(type)))) {
    return null;
  }
  const payload = value.payload;
  if (!isPlain(payload) || !hasExactly(payload, PAYLOAD_KEYS)) return null;
  const { nonce, ciphertext, keys } = payload;
  if (
    payload.alg !== PAYLOAD_ALG || payload.content_type !== "application/json" ||
    !b64u(nonce, 16) || typeof ciphertext !== "string" || ciphertext.length === 0 ||
    !B64U_RE.test(ciphertext) || !Array.isArray(keys) || keys.length !== to.length
  ) return null;
  const entries: Envelope["payload"]["keys"] = [];
  for (let i = 0; i < keys.length; i++) {
    const k: unknown = keys[i];
    if (!isPlain(k) || !hasExactly(k, KEY_ENTRY_KEYS) || k.to !== to[i]) return null;
    if (!b64u(k.enc, 43) || !b64u(k.wrapped, 64)) return null;
    entries.push(Object.freeze({ to: k.to as string, enc: k.enc, wrapped: k.wrapped }));
  }
  const envelope = {
    v: 1,
    id,
    type,
    from,
    to: Object.freeze([...to]) as string[],
    ...(conversation_id !== undefined ? { conversation_id } : {}),
    ...(task_id !== undefined ? { task_id } : {}),
    ...(reply_to !== undefined ? { reply_to } : {}),
    created_at,
    device_id,
    payload: Object.freeze({
      alg: PAYLOAD_ALG,
      content_type: "application/json",
      nonce,
      ciphertext,
      keys: Object.freeze(entries),
    }),
    sig: value.sig,
  } as Envelope;
  // Frozen, so that the signing text written from its fields stays what the object holds.
  Object.freeze(envelope);
  checked.add(envelope);
  return envelope;
}

const PAYLOAD_KEYS = ["alg", "content_type", "nonce", "ciphertext", "keys"] as const;
const KEY_ENTRY_KEYS = ["to", "enc", "wrapped"] as const;

/**
 * The JCS (RFC 8785) text of `envelope` without `sig`, for an envelope {@link fastEnvelope}
 * built; null for any other object. Every string in such an envelope is ASCII from a
 * restricted alphabet, and every key is known, so the canonical form is the fields in sorted
 * key order, strings as `JSON.stringify` writes them (JCS's string form).
 */
export function fastSigningText(envelope: Envelope): string | null {
  if (!checked.has(envelope)) return null;
  const e = envelope;
  const s = JSON.stringify;
  const p = e.payload;
  let keys = "";
  for (const k of p.keys) {
    keys += `${keys ? "," : ""}{"enc":${s(k.enc)},"to":${s(k.to)},"wrapped":${s(k.wrapped)}}`;
  }
  let to = "";
  for (const h of e.to) to += `${to ? "," : ""}${s(h)}`;
  return `{${e.conversation_id !== undefined ? `"conversation_id":${s(e.conversation_id)},` : ""}` +
    `"created_at":${s(e.created_at)},"device_id":${s(e.device_id)},"from":${s(e.from)},` +
    `"id":${s(e.id)},"payload":{"alg":${s(p.alg)},"ciphertext":${s(p.ciphertext)},` +
    `"content_type":${s(p.content_type)},"keys":[${keys}],"nonce":${s(p.nonce)}},` +
    (e.reply_to !== undefined ? `"reply_to":${s(e.reply_to)},` : "") +
    (e.task_id !== undefined ? `"task_id":${s(e.task_id)},` : "") +
    `"to":[${to}],"type":${s(e.type)},"v":1}`;
}
