/**
 * Envelope crypto (design §5): Ed25519 signatures over the JCS form of the envelope, AES-256-GCM
 * content encryption bound to the header by AAD, and a per-recipient HPKE (RFC 9180) key wrap.
 * Pure: WebCrypto and @hpke/core only.
 */
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { decodeBase64Url, encodeBase64Url } from "./base64url.ts";
import { canonicalBytes } from "./canonical.ts";
import { hpkeOpen, hpkeSeal } from "./hpke.ts";
import { fail, TaskferryError } from "./errors.ts";
import {
  type Envelope,
  type EnvelopeHeader,
  EnvelopeSchema,
  HeaderSchema,
  type MessageType,
  parsePayload,
  PAYLOAD_ALG,
  type PayloadOf,
} from "./schemas.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The HPKE suite of protocol v1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM. */
export const hpkeSuite = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes256Gcm(),
});

/** An agent's key material as raw 32-byte values (private keys are seeds/scalars). */
export interface AgentKeys {
  signing: { publicKey: Uint8Array; privateKey: Uint8Array };
  encryption: { publicKey: Uint8Array; privateKey: Uint8Array };
}

/** The public half of an agent's keys. */
export interface AgentPublicKeys {
  signing: Uint8Array;
  encryption: Uint8Array;
}

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

/** Source of randomness; tests pass a seeded one to reproduce vectors. */
export type RandomBytes = (n: number) => Uint8Array;

const ED25519_PKCS8_PREFIX = Uint8Array.from([
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
]);
const X25519_PKCS8_PREFIX = Uint8Array.from([
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20,
]);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function buf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function requireLength(bytes: Uint8Array, n: number, what: string) {
  if (bytes.length !== n) throw new TypeError(`${what} must be ${n} bytes, got ${bytes.length}`);
}

// Imported CryptoKeys are cached: importing costs more than verifying one signature.
const KEY_CACHE_LIMIT = 4096;
const keyCache = new Map<string, Promise<CryptoKey>>();

function cachedKey(kind: string, raw: Uint8Array, make: () => Promise<CryptoKey>) {
  const id = kind + encodeBase64Url(raw);
  let key = keyCache.get(id);
  if (!key) {
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
    key = make();
    keyCache.set(id, key);
    key.catch(() => keyCache.delete(id));
  }
  return key;
}

function signingKey(seed: Uint8Array): Promise<CryptoKey> {
  requireLength(seed, 32, "Ed25519 private key");
  return cachedKey(
    "eds:",
    seed,
    () =>
      crypto.subtle.importKey("pkcs8", buf(concat(ED25519_PKCS8_PREFIX, seed)), "Ed25519", false, [
        "sign",
      ]),
  );
}

function verifyingKey(publicKey: Uint8Array): Promise<CryptoKey> {
  requireLength(publicKey, 32, "Ed25519 public key");
  return cachedKey(
    "edp:",
    publicKey,
    () => crypto.subtle.importKey("raw", buf(publicKey), "Ed25519", false, ["verify"]),
  );
}

/** The Ed25519 public key of a 32-byte seed. */
export async function ed25519PublicKey(seed: Uint8Array): Promise<Uint8Array> {
  requireLength(seed, 32, "Ed25519 private key");
  const key = await crypto.subtle.importKey(
    "pkcs8",
    buf(concat(ED25519_PKCS8_PREFIX, seed)),
    "Ed25519",
    true,
    ["sign"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", key);
  return decodeBase64Url(jwk.x!);
}

/** The X25519 public key of a 32-byte private scalar. */
export async function x25519PublicKey(privateKey: Uint8Array): Promise<Uint8Array> {
  requireLength(privateKey, 32, "X25519 private key");
  const key = await crypto.subtle.importKey(
    "pkcs8",
    buf(concat(X25519_PKCS8_PREFIX, privateKey)),
    "X25519",
    true,
    ["deriveBits"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", key);
  return decodeBase64Url(jwk.x!);
}

/** Rebuilds full agent keys from the two private keys. */
export async function agentKeysFromPrivate(
  signingPrivateKey: Uint8Array,
  encryptionPrivateKey: Uint8Array,
): Promise<AgentKeys> {
  return {
    signing: {
      publicKey: await ed25519PublicKey(signingPrivateKey),
      privateKey: signingPrivateKey,
    },
    encryption: {
      publicKey: await x25519PublicKey(encryptionPrivateKey),
      privateKey: encryptionPrivateKey,
    },
  };
}

/** Generates a fresh Ed25519 signing key and X25519 encryption key. */
export function generateAgentKeys(random: RandomBytes = randomBytes): Promise<AgentKeys> {
  return agentKeysFromPrivate(random(32), random(32));
}

/** Cryptographically secure random bytes. */
export function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** Ed25519 signature of `message`. */
export async function sign(
  signingPrivateKey: Uint8Array,
  message: Uint8Array,
): Promise<Uint8Array> {
  const sig = await crypto.subtle.sign(
    "Ed25519",
    await signingKey(signingPrivateKey),
    buf(message),
  );
  return new Uint8Array(sig);
}

/**
 * The encodings of the Ed25519 points of small order (the 8-torsion, including the non-canonical
 * encodings y = p and y = p + 1), with the sign bit cleared. For such a public key the signature
 * (R = identity, S = 0) verifies for every message, so anyone could "sign" as it; WebCrypto
 * accepts them, so {@link verify} refuses them itself (the list is libsodium's).
 */
const SMALL_ORDER_ED25519 = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

function isSmallOrderEd25519(publicKey: Uint8Array): boolean {
  const y = Array.from(publicKey, (b, i) => (i === 31 ? b & 0x7f : b).toString(16).padStart(2, "0"))
    .join("");
  return SMALL_ORDER_ED25519.includes(y);
}

/**
 * Verifies an Ed25519 signature; false on any mismatch or malformed input, and for public keys
 * of small order (which would verify forged signatures).
 */
export async function verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  if (isSmallOrderEd25519(publicKey)) return false;
  try {
    return await crypto.subtle.verify(
      "Ed25519",
      await verifyingKey(publicKey),
      buf(signature),
      buf(message),
    );
  } catch {
    return false;
  }
}

/** SHA-256 digest. */
export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", buf(data)));
}

/**
 * An agent's key fingerprint: lowercase hex of the first 16 bytes of
 * SHA-256(signing public key ‖ encryption public key), in groups of four.
 */
export async function fingerprint(keys: AgentPublicKeys): Promise<string> {
  const digest = await sha256(concat(keys.signing, keys.encryption));
  const hex = Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  return hex.match(/.{4}/g)!.join("-");
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
  return out;
}

/** The HPKE `info` for wrapping the content key of envelope `id` for `recipient`. */
export function hpkeInfo(envelopeId: string, recipient: string): Uint8Array {
  return encoder.encode(`taskferry/1 content-key\n${envelopeId}\n${recipient}`);
}

/** The bytes an envelope signature covers: JCS of the envelope without `sig`. */
export function signingInput(envelope: Omit<Envelope, "sig"> | Envelope): Uint8Array {
  const { sig: _sig, ...unsigned } = envelope as Envelope;
  return canonicalBytes(unsigned);
}

/** Options for {@link sealEnvelope}. */
export interface SealOptions {
  /** Randomness for the content key, nonce and HPKE ephemeral keys (tests only). */
  random?: RandomBytes;
}

/**
 * Encrypts `plaintext` for every recipient and signs the result (design §5). The header is
 * validated first; recipients must be given in the order of `header.to`.
 */
export async function sealEnvelope(
  header: EnvelopeHeader,
  plaintext: unknown,
  sender: Sender,
  recipients: readonly Recipient[],
  options: SealOptions = {},
): Promise<Envelope> {
  const parsedHeader = HeaderSchema.safeParse(header);
  if (!parsedHeader.success) throw fail("invalid_envelope", parsedHeader.error.message);
  if (header.from !== sender.handle) throw fail("invalid_envelope", "from must be the sender");
  if (
    recipients.length !== header.to.length ||
    recipients.some((r, i) => r.handle !== header.to[i])
  ) {
    throw fail("invalid_envelope", "recipients must match header.to in order");
  }
  const random = options.random ?? randomBytes;
  const contentType = "application/json";
  const contentKey = random(32);
  const nonce = random(12);
  const aad = canonicalBytes(aadObject(header, contentType));
  const aes = await crypto.subtle.importKey("raw", buf(contentKey), "AES-GCM", false, ["encrypt"]);
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: buf(nonce), additionalData: buf(aad) },
      aes,
      buf(encoder.encode(JSON.stringify(plaintext))),
    ),
  );
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
}

/** The recipient's keys for opening. */
export interface RecipientKeys {
  encryptionPrivateKey: Uint8Array;
  encryptionPublicKey: Uint8Array;
}

/**
 * Verifies the signature, unwraps the content key for `recipientHandle`, decrypts and validates
 * the payload against its type's schema. Throws a {@link TaskferryError} with code
 * `bad_signature`, `not_a_recipient`, `decrypt_failed` or `invalid_payload`.
 */
export async function openEnvelope<T extends MessageType = MessageType>(
  envelope: Envelope,
  recipientHandle: string,
  recipientKeys: RecipientKeys,
  senderSigningPublicKey: Uint8Array,
): Promise<PayloadOf<T>> {
  await verifyEnvelope(envelope, senderSigningPublicKey);
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
    const aes = await crypto.subtle.importKey("raw", buf(contentKey), "AES-GCM", false, [
      "decrypt",
    ]);
    const aad = canonicalBytes(aadObject(envelope, envelope.payload.content_type));
    plaintext = new Uint8Array(
      await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: buf(decodeBase64Url(envelope.payload.nonce)),
          additionalData: buf(aad),
        },
        aes,
        buf(decodeBase64Url(envelope.payload.ciphertext)),
      ),
    );
  } catch (err) {
    if (err instanceof TaskferryError) throw err;
    throw fail("decrypt_failed");
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(plaintext));
  } catch {
    throw fail("invalid_payload", "plaintext is not UTF-8 JSON");
  }
  const parsed = parsePayload(envelope.type, value);
  if (!parsed.success) {
    throw fail("invalid_payload", parsed.error.issues.map((i) => i.message).join("; "));
  }
  return parsed.data as PayloadOf<T>;
}

/** Proof of possession for registering `handle` with these public keys, signed by the new key. */
export function registrationInput(
  handle: string,
  keys: { signing_public_key: string; encryption_public_key: string },
  clientId: string,
): Uint8Array {
  return canonicalBytes({
    purpose: "taskferry/1 register",
    handle,
    client_id: clientId,
    signing_public_key: keys.signing_public_key,
    encryption_public_key: keys.encryption_public_key,
  });
}

/** The bytes the old key signs to rotate `handle` to new public keys. */
export function rotationInput(
  handle: string,
  keys: { signing_public_key: string; encryption_public_key: string },
): Uint8Array {
  return canonicalBytes({
    purpose: "taskferry/1 rotate",
    handle,
    signing_public_key: keys.signing_public_key,
    encryption_public_key: keys.encryption_public_key,
  });
}

/** Constant-time string comparison. */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
