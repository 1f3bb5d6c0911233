/**
 * The cryptographic primitives of protocol v1 — Ed25519, X25519, HKDF-SHA256, HMAC-SHA256,
 * AES-256-GCM and SHA-256 — on `node:crypto`, built into Deno: pure computation, no I/O. Design
 * §2–3 name WebCrypto for lib/protocol; this file is the measured exception, and the only file
 * of lib/protocol that tests/architecture_test.ts lets import a built-in module.
 *
 * Why not WebCrypto: every `crypto.subtle` call is a promise served by another thread, and the
 * hop costs more than the work on these small inputs. Whole-process CPU per call here
 * (bench/crypto_calls.ts): an X25519 key pair 96 against 20 µs, one HKDF 49 against 5 µs,
 * AES-GCM of 1 KB 43 against 16 µs, an Ed25519 signature 39 against 15 µs; a sealed envelope
 * 600 against 160 µs. The bytes are the same (the vectors, @hpke/core and noble check them).
 * Files keep WebCrypto (blob.ts): their 1 MiB chunks are worth the hop off the main thread.
 *
 * Loaded by the relay's signature Worker: imports nothing heavier than the byte helpers.
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { Buffer } from "node:buffer";
import { encodeBase64Url } from "./base64url.ts";
import { concatBytes, fromHex, requireLength } from "./bytes.ts";

// DER wrappers of raw 32-byte keys (RFC 8410): how node:crypto imports raw keys.
const ED25519_PKCS8 = fromHex("302e020100300506032b657004220420");
const ED25519_SPKI = fromHex("302a300506032b6570032100");
const X25519_PKCS8 = fromHex("302e020100300506032b656e04220420");
const X25519_SPKI = fromHex("302a300506032b656e032100");

/** The AES-GCM tag appended to a ciphertext (as WebCrypto does). */
const GCM_TAG = 16;

// Parsed keys are cached: parsing DER costs about as much as one signature check.
const KEY_CACHE_LIMIT = 4096;
const keyCache = new Map<string, KeyObject | null>();

/** The key `make` builds from `raw`, built once per `kind` + bytes (bounded, oldest out first). */
function cached(kind: string, raw: Uint8Array, make: () => KeyObject | null): KeyObject | null {
  const id = kind + encodeBase64Url(raw);
  let key = keyCache.get(id);
  if (key === undefined) {
    key = make();
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(id, key);
  }
  return key;
}

/** A copy as a plain Uint8Array (node returns Buffers, some sharing a pool). */
const plain = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);

function privateKey(prefix: Uint8Array, raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([prefix, raw]), format: "der", type: "pkcs8" });
}

function publicKey(prefix: Uint8Array, raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([prefix, raw]), format: "der", type: "spki" });
}

/** The raw 32 bytes of a public KeyObject (the tail of its SPKI form). */
function rawPublic(key: KeyObject): Uint8Array {
  const der = key.export({ format: "der", type: "spki" });
  return plain(der.subarray(der.length - 32));
}

/**
 * The encodings of the Ed25519 points of small order (the 8-torsion, including the non-canonical
 * encodings y = p and y = p + 1), with the sign bit cleared. For such a public key the signature
 * (R = identity, S = 0) verifies for every message, so anyone could "sign" as it; the library
 * accepts them, so {@link ed25519Verify} refuses them itself (the list is libsodium's).
 */
const SMALL_ORDER_ED25519 = new Set([
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]);

/** True for an Ed25519 public key of small order, which {@link ed25519Verify} refuses. */
export function isSmallOrderEd25519(publicKey: Uint8Array): boolean {
  const y = Array.from(publicKey, (b, i) => (i === 31 ? b & 0x7f : b).toString(16).padStart(2, "0"))
    .join("");
  return SMALL_ORDER_ED25519.has(y);
}

/** The Ed25519 public key of a 32-byte seed. */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  requireLength(seed, 32, "Ed25519 private key");
  return rawPublic(createPublicKey(privateKey(ED25519_PKCS8, seed)));
}

/** The Ed25519 signature of `message` by the 32-byte `seed`. */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  requireLength(seed, 32, "Ed25519 private key");
  const key = cached("eds:", seed, () => privateKey(ED25519_PKCS8, seed))!;
  return plain(nodeSign(null, message, key));
}

/**
 * True when `signature` is `publicKey`'s Ed25519 signature of `message`; false on any mismatch
 * or malformed input, and for public keys of small order (which would verify forgeries).
 */
export function ed25519Verify(
  publicKey_: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (publicKey_.length !== 32 || signature.length !== 64) return false;
  try {
    const key = cached("edp:", publicKey_, () => ed25519VerifyingKey(publicKey_));
    return key !== null && ed25519VerifyWith(key, message, signature);
  } catch {
    return false;
  }
}

/** An Ed25519 public key, parsed once for many checks. */
export type Ed25519Key = KeyObject;

/**
 * The parsed verifying key of a 32-byte public key, or null for a key of small order (checked
 * once, when the key is parsed, not on every signature). Throws on malformed input.
 */
export function ed25519VerifyingKey(publicKey_: Uint8Array): Ed25519Key | null {
  requireLength(publicKey_, 32, "Ed25519 public key");
  return isSmallOrderEd25519(publicKey_) ? null : publicKey(ED25519_SPKI, publicKey_);
}

/** {@link ed25519Verify} with a key parsed by {@link ed25519VerifyingKey}. */
export function ed25519VerifyWith(
  key: Ed25519Key,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  return signature.length === 64 && nodeVerify(null, message, key, signature);
}

/** The X25519 public key of a 32-byte private scalar. */
export function x25519PublicKey(scalar: Uint8Array): Uint8Array {
  requireLength(scalar, 32, "X25519 private key");
  return rawPublic(createPublicKey(privateKey(X25519_PKCS8, scalar)));
}

/** An X25519 private key, parsed (from {@link x25519Generate} or {@link x25519Private}). */
export type X25519Key = KeyObject;

/** A fresh X25519 private key with its raw public key. */
export interface X25519Pair {
  key: X25519Key;
  publicKey: Uint8Array;
}

/** A fresh X25519 key pair (an HPKE ephemeral key). */
export function x25519Generate(): X25519Pair {
  const pair = generateKeyPairSync("x25519");
  return { key: pair.privateKey, publicKey: rawPublic(pair.publicKey) };
}

/** The X25519 private key of a scalar; `keep` caches it (an agent's own key, used again). */
export function x25519Private(scalar: Uint8Array, keep = false): X25519Key {
  requireLength(scalar, 32, "X25519 private key");
  const make = () => privateKey(X25519_PKCS8, scalar);
  return keep ? cached("x25519s:", scalar, make)! : make();
}

/**
 * X25519(private, peer). Throws on a peer key the library refuses and, per RFC 9180 §7.1.4,
 * on an all-zero shared secret (a small-order peer key); the caller names the refusal. `keep`
 * caches the parsed peer key: a recipient's static key, used again — not an ephemeral one,
 * which would only push the keys worth keeping out of the cache.
 */
export function x25519(privateKey_: X25519Key, peer: Uint8Array, keep = false): Uint8Array {
  requireLength(peer, 32, "X25519 public key");
  const parse = () => publicKey(X25519_SPKI, peer);
  const pub = keep ? cached("x25519p:", peer, parse)! : parse();
  const dh = plain(diffieHellman({ privateKey: privateKey_, publicKey: pub }));
  if (dh.every((b) => b === 0)) throw new RangeError("small-order X25519 key");
  return dh;
}

/** HKDF-SHA256: Expand(Extract(salt, ikm), info, length); an empty salt is HashLen zeros. */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) {
  return new Uint8Array(hkdfSync("sha256", ikm, salt, info, length));
}

/** HMAC-SHA256(key, data). */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return plain(createHmac("sha256", key).update(data).digest());
}

/** SHA-256(data). */
export function sha256(data: Uint8Array): Uint8Array {
  return plain(createHash("sha256").update(data).digest());
}

/** AES-256-GCM encryption: ciphertext ‖ 16-byte tag (WebCrypto's layout). */
export function aesGcmSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): Uint8Array {
  requireLength(key, 32, "AES-256-GCM key");
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  if (aad) cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  return concatBytes(head, tail, cipher.getAuthTag());
}

/** AES-256-GCM decryption of ciphertext ‖ tag; throws when the tag does not verify. */
export function aesGcmOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad?: Uint8Array,
): Uint8Array {
  requireLength(key, 32, "AES-256-GCM key");
  if (sealed.length < GCM_TAG) throw new RangeError("ciphertext shorter than its tag");
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG));
  const head = decipher.update(sealed.subarray(0, sealed.length - GCM_TAG));
  return concatBytes(head, decipher.final());
}
