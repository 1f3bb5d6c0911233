/**
 * Envelope crypto (design §5): Ed25519 signatures over the JCS form of the envelope, AES-256-GCM
 * content encryption bound to the header by AAD, and a per-recipient HPKE (RFC 9180) key wrap.
 * Pure: the primitives are primitives.ts's (node:crypto, design §3); HPKE is in hpke.ts.
 */
import { decodeBase64Url, encodeBase64Url } from "./base64url.ts";
import { requireLength } from "./bytes.ts";
import { canonicalBytes } from "./canonical.ts";
import { fastEnvelope, fastSigningText } from "./envelope_fast.ts";
import { hpkeOpen, hpkeSeal } from "./hpke.ts";
import { fail, TaskferryError } from "./errors.ts";
import { jsonDepth, MAX_JSON_DEPTH } from "./json.ts";
import { type RandomBytes, randomBytes, sign, verify } from "./keys.ts";
import { parsePayload, payloadBlobIds, type PayloadOf } from "./payloads.ts";
import { aesGcmOpen, aesGcmSeal } from "./primitives.ts";
import {
  describeIssues,
  type Envelope,
  type EnvelopeHeader,
  EnvelopeSchema,
  HeaderSchema,
  type MessageType,
  PAYLOAD_ALG,
} from "./schemas.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A sealing sender: its handle and signing key. */
export interface Sender {
  handle: string;
  signingPrivateKey: Uint8Array;
}

/** A recipient as the sender sees it. */
export interface Recipient {
  handle: string;
  encryptionPublicKey: Uint8Array;
}

/** The header fields bound into the AAD, in the form that is canonicalized. */
export function aadObject(header: EnvelopeHeader | Envelope, contentType: string) {
  const out: Record<string, unknown> = {
    v: header.v,
    id: header.id,
    type: header.type,
    from: header.from,
    to: header.to,
    created_at: header.created_at,
    content_type: contentType,
  };
  if (header.conversation_id !== undefined) out.conversation_id = header.conversation_id;
  if (header.task_id !== undefined) out.task_id = header.task_id;
  if (header.reply_to !== undefined) out.reply_to = header.reply_to;
  // Only when present, like the optional fields above: envelopes without files keep the AAD
  // they always had. Binding it ties the file keys in the ciphertext to the signed blob list.
  if (header.blobs !== undefined) out.blobs = header.blobs;
  return out;
}

/**
 * Why the header's `blobs` and the payload's `files` disagree, or null when the header lists
 * exactly the payload's blob ids in order (both absent counts as agreeing). The relay sees only
 * the header, so a file missing from it could not be fetched, and a listed blob without a file
 * would give readers access to ciphertext they cannot open.
 */
export function blobListProblem(header: { blobs?: string[] | undefined }, payload: unknown) {
  const listed = header.blobs ?? [];
  const carried = payloadBlobIds(payload);
  if (listed.length === carried.length && listed.every((id, i) => id === carried[i])) return null;
  return "header.blobs must list the blob_id of every payload file, in order";
}

/** The HPKE `info` for wrapping the content key of envelope `id` for `recipient`. */
export function hpkeInfo(envelopeId: string, recipient: string): Uint8Array {
  return encoder.encode(`taskferry/1 content-key\n${envelopeId}\n${recipient}`);
}

/** The bytes an envelope signature covers: JCS of the envelope without `sig`. */
export function signingInput(envelope: Omit<Envelope, "sig"> | Envelope): Uint8Array {
  // An envelope parseReceivedEnvelope built is frozen and of a known shape: written directly.
  const fast = fastSigningText(envelope as Envelope);
  if (fast !== null) return encoder.encode(fast);
  const { sig: _sig, ...unsigned } = envelope as Envelope;
  return canonicalBytes(unsigned);
}

/** Options for {@link sealEnvelope}. */
export interface SealOptions {
  /** Randomness for the content key, nonce and HPKE ephemeral keys (tests only). */
  random?: RandomBytes;
}

/** A header whose `type` is `T`, so the payload type follows from it. */
export type HeaderOf<T extends MessageType> = EnvelopeHeader & { type: T };

/** True when `T` is a union of several types. */
type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;

/**
 * What {@link sealEnvelope} takes as plaintext: the payload type of `T` when the header names
 * one type; `unknown` when the type is only known at run time (a generic send path), where the
 * run-time check alone applies.
 */
export type PlaintextOf<T extends MessageType> = true extends IsUnion<T> ? unknown : PayloadOf<T>;

/**
 * Encrypts `plaintext` for every recipient and signs the result (design §5). The header is
 * validated first (`invalid_envelope`), then the plaintext against the schema of its type
 * (`validation_failed`: the caller's input is wrong, and nothing is sealed, so a payload that
 * a receiver would refuse, or that has no UTF-8 form, never leaves); recipients must be given
 * in the order of `header.to`.
 *
 * @example
 * ```ts
 * const env = await sealEnvelope(
 *   { v: 1, id, type: "task_progress", from, to: [worker], task_id, created_at, device_id },
 *   { text: "halfway" }, // typed: PayloadOf<"task_progress">
 *   sender,
 *   recipients,
 * );
 * ```
 */
export async function sealEnvelope<T extends MessageType>(
  header: HeaderOf<T>,
  plaintext: NoInfer<PlaintextOf<T>>,
  sender: Sender,
  recipients: readonly Recipient[],
  options: SealOptions = {},
): Promise<Envelope> {
  const parsedHeader = HeaderSchema.safeParse(header);
  if (!parsedHeader.success) {
    throw fail("invalid_envelope", describeIssues(parsedHeader.error), undefined, {
      cause: parsedHeader.error,
    });
  }
  if (header.from !== sender.handle) throw fail("invalid_envelope", "from must be the sender");
  if (
    recipients.length !== header.to.length ||
    recipients.some((r, i) => r.handle !== header.to[i])
  ) {
    throw fail("invalid_envelope", "recipients must match header.to in order");
  }
  const payload = parsePayload(header.type, plaintext);
  if (!payload.success) {
    throw fail("validation_failed", `${header.type}: ${describeIssues(payload.error)}`, undefined, {
      cause: payload.error,
    });
  }
  const blobProblem = blobListProblem(header, payload.data);
  if (blobProblem) throw fail("validation_failed", blobProblem);
  const random = options.random ?? randomBytes;
  const contentType = "application/json";
  const contentKey = random(32);
  const nonce = random(12);
  const aad = canonicalBytes(aadObject(header, contentType));
  const ciphertext = aesGcmSeal(contentKey, nonce, encoder.encode(JSON.stringify(plaintext)), aad);
  const keys = [];
  for (const r of recipients) {
    requireLength(r.encryptionPublicKey, 32, "X25519 public key");
    const sealed = await hpkeSeal(
      r.encryptionPublicKey,
      hpkeInfo(header.id, r.handle),
      contentKey,
      options.random ? random(32) : undefined,
    );
    keys.push({
      to: r.handle,
      enc: encodeBase64Url(sealed.enc),
      wrapped: encodeBase64Url(sealed.ct),
    });
  }
  const unsigned: Omit<Envelope, "sig"> = {
    ...parsedHeader.data,
    payload: {
      alg: PAYLOAD_ALG,
      content_type: contentType,
      nonce: encodeBase64Url(nonce),
      ciphertext: encodeBase64Url(ciphertext),
      keys,
    },
  };
  const sig = await sign(sender.signingPrivateKey, signingInput(unsigned));
  return { ...unsigned, sig: encodeBase64Url(sig) };
}

/** Parses an envelope from unknown input; throws `invalid_envelope` / `unsupported_version`. */
export function parseEnvelope(value: unknown): Envelope {
  if (
    value !== null && typeof value === "object" && "v" in value &&
    (value as { v: unknown }).v !== 1
  ) {
    throw fail("unsupported_version", `protocol version ${String((value as { v: unknown }).v)}`);
  }
  const parsed = EnvelopeSchema.safeParse(value);
  if (!parsed.success) {
    throw fail(
      "invalid_envelope",
      parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
        .join("; "),
    );
  }
  return parsed.data;
}

/**
 * {@link parseEnvelope} for envelopes off the wire on the relay's hot path: the common shape is
 * checked by hand (envelope_fast.ts) and comes back deeply frozen; anything else, and every
 * refusal, goes through the schema as before.
 */
export function parseReceivedEnvelope(value: unknown): Envelope {
  return fastEnvelope(value) ?? parseEnvelope(value);
}

/**
 * Verified envelopes (signature + key): {@link openEnvelope} skips re-checking an object just
 * verified under the same key (JCS + Ed25519). Callers never change a verified envelope.
 */
const verifiedWith = new WeakMap<Envelope, string>();
const verifiedKey = (e: Envelope, key: Uint8Array) => `${e.sig}.${encodeBase64Url(key)}`;

/** Verifies the envelope signature; throws `bad_signature`. */
export async function verifyEnvelope(envelope: Envelope, senderSigningPublicKey: Uint8Array) {
  let sig: Uint8Array;
  try {
    sig = decodeBase64Url(envelope.sig);
  } catch {
    throw fail("bad_signature", "signature is not base64url");
  }
  if (!(await verify(senderSigningPublicKey, signingInput(envelope), sig))) {
    throw fail("bad_signature");
  }
  verifiedWith.set(envelope, verifiedKey(envelope, senderSigningPublicKey));
}

/** The recipient's keys for opening. */
export interface RecipientKeys {
  encryptionPrivateKey: Uint8Array;
  encryptionPublicKey: Uint8Array;
}

/**
 * Verifies the signature, unwraps the content key for `recipientHandle`, decrypts and validates
 * the payload against its type's schema. Throws a {@link TaskferryError} with code
 * `bad_signature`, `not_a_recipient`, `decrypt_failed`, `payload_too_deep` or `invalid_payload`.
 */
export async function openEnvelope<T extends MessageType = MessageType>(
  envelope: Envelope,
  recipientHandle: string,
  recipientKeys: RecipientKeys,
  senderSigningPublicKey: Uint8Array,
): Promise<PayloadOf<T>> {
  if (verifiedWith.get(envelope) !== verifiedKey(envelope, senderSigningPublicKey)) {
    await verifyEnvelope(envelope, senderSigningPublicKey);
  }
  const entry = envelope.payload.keys.find((k) => k.to === recipientHandle);
  if (!entry || !envelope.to.includes(recipientHandle)) throw fail("not_a_recipient");
  let plaintext: Uint8Array;
  try {
    const contentKey = await hpkeOpen(
      recipientKeys.encryptionPrivateKey,
      recipientKeys.encryptionPublicKey,
      decodeBase64Url(entry.enc),
      hpkeInfo(envelope.id, recipientHandle),
      decodeBase64Url(entry.wrapped),
    );
    const aad = canonicalBytes(aadObject(envelope, envelope.payload.content_type));
    plaintext = aesGcmOpen(
      contentKey,
      decodeBase64Url(envelope.payload.nonce),
      decodeBase64Url(envelope.payload.ciphertext),
      aad,
    );
  } catch (err) {
    if (err instanceof TaskferryError) throw err;
    throw fail("decrypt_failed");
  }
  let value: unknown;
  try {
    const text = decoder.decode(plaintext);
    // Depth is scanned before parsing: a peer's own code may nest deeper than ours (gap 7).
    if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      throw fail("payload_too_deep", `the payload nests deeper than ${MAX_JSON_DEPTH} levels`);
    }
    value = JSON.parse(text);
  } catch (err) {
    if (err instanceof TaskferryError) throw err;
    throw fail("invalid_payload", "plaintext is not UTF-8 JSON");
  }
  const parsed = parsePayload(envelope.type, value);
  if (!parsed.success) {
    throw fail("invalid_payload", `${envelope.type}: ${describeIssues(parsed.error)}`, undefined, {
      cause: parsed.error,
    });
  }
  const blobProblem = blobListProblem(envelope, parsed.data);
  if (blobProblem) throw fail("invalid_payload", blobProblem);
  return parsed.data as PayloadOf<T>;
}
