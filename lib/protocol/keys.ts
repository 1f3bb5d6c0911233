/**
 * Agent keys (design §4): Ed25519 signing and X25519 encryption keys as raw 32-byte values,
 * signatures with the small-order-key check, fingerprints, and the signed inputs of
 * registration and rotation. Pure: WebCrypto only.
 */
import { decodeBase64Url, encodeBase64Url } from "./base64url.ts";
import { arrayBufferOf as buf, concatBytes, fromHex, requireLength } from "./bytes.ts";
import { canonicalBytes } from "./canonical.ts";

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

/** An agent's public keys as the wire carries them (base64url of the raw 32 bytes). */
export interface WirePublicKeys {
  signing_public_key: string;
  encryption_public_key: string;
}

/** Source of randomness; tests pass a seeded one to reproduce vectors. */
export type RandomBytes = (n: number) => Uint8Array;

// PKCS#8 wrappers of a raw 32-byte private key (RFC 8410), the only import form WebCrypto
// offers for raw Ed25519 / X25519 private keys.
const ED25519_PKCS8_PREFIX = fromHex("302e020100300506032b657004220420");
/** PKCS#8 prefix of a raw X25519 private scalar (WebCrypto imports private keys only so). */
export const X25519_PKCS8_PREFIX = fromHex("302e020100300506032b656e04220420");

// Imported CryptoKeys are cached: importing costs more than verifying one signature.
const KEY_CACHE_LIMIT = 4096;
const keyCache = new Map<string, Promise<unknown>>();

/**
 * The CryptoKey `make` imports from `raw`, imported once per `kind` + bytes (bounded, oldest
 * out first; a failed import is forgotten). Also used by hpke.ts for X25519 keys.
 */
export function cachedKey<K = CryptoKey>(
  kind: string,
  raw: Uint8Array,
  make: () => Promise<K>,
): Promise<K> {
  const id = kind + encodeBase64Url(raw);
  let key = keyCache.get(id) as Promise<K> | undefined;
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
      crypto.subtle.importKey(
        "pkcs8",
        buf(concatBytes(ED25519_PKCS8_PREFIX, seed)),
        "Ed25519",
        false,
        [
          "sign",
        ],
      ),
  );
}

/**
 * The verifying CryptoKey of a public key, or null for a key of small order (checked once, when
 * the key is first imported, instead of on every signature).
 */
function verifyingKey(publicKey: Uint8Array): Promise<CryptoKey | null> {
  requireLength(publicKey, 32, "Ed25519 public key");
  return cachedKey<CryptoKey | null>(
    "edp:",
    publicKey,
    () =>
      isSmallOrderEd25519(publicKey)
        ? Promise.resolve(null)
        : crypto.subtle.importKey("raw", buf(publicKey), "Ed25519", false, ["verify"]),
  );
}

/** The Ed25519 public key of a 32-byte seed. */
export async function ed25519PublicKey(seed: Uint8Array): Promise<Uint8Array> {
  requireLength(seed, 32, "Ed25519 private key");
  const key = await crypto.subtle.importKey(
    "pkcs8",
    buf(concatBytes(ED25519_PKCS8_PREFIX, seed)),
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
    buf(concatBytes(X25519_PKCS8_PREFIX, privateKey)),
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

/** True for an Ed25519 public key of small order, which {@link verify} refuses. */
export function isSmallOrderEd25519(publicKey: Uint8Array): boolean {
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
  try {
    const key = await verifyingKey(publicKey);
    if (key === null) return false;
    return await crypto.subtle.verify("Ed25519", key, whole(signature), whole(message));
  } catch {
    return false;
  }
}

/** `bytes` as WebCrypto input: its own buffer when the view spans all of it (no copy). */
function whole(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength &&
      bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : buf(bytes);
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
  const digest = await sha256(concatBytes(keys.signing, keys.encryption));
  const hex = Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  return hex.match(/.{4}/g)!.join("-");
}

/**
 * The fingerprint of public keys as the wire carries them (base64url); the one way relay pages,
 * invites and the daemon compute it. Throws `TypeError` on malformed base64url.
 *
 * @example
 * ```ts
 * await fingerprintOf(agent); // "ca34-2ebe-4f36-8a61-1e3c-911d-ee0a-984c"
 * ```
 */
export function fingerprintOf(keys: WirePublicKeys): Promise<string> {
  return fingerprint({
    signing: decodeBase64Url(keys.signing_public_key),
    encryption: decodeBase64Url(keys.encryption_public_key),
  });
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
