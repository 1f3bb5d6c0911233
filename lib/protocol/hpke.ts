/**
 * HPKE (RFC 9180) base mode, single-shot, for the one suite protocol v1 uses:
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM — on native WebCrypto only.
 *
 * Why not a library: the general-purpose implementation cost ~0.75 ms per recipient here, most
 * of it in many small JavaScript-side HMAC calls. Each labelled Extract+Expand pair of the RFC is
 * one WebCrypto HKDF call (HKDF = Expand(Extract(salt, ikm), info)), so a seal is one key
 * generation, one X25519, three HKDF, one HMAC and one AES-GCM call. The output is the standard
 * `enc ‖ ct`; the envelope vectors and the independent noble implementation in
 * tests/protocol/noble_test.ts check it byte for byte.
 */
import { arrayBufferOf as buf, concatBytes as concat } from "./bytes.ts";
import { fail } from "./errors.ts";
import { cachedKey, X25519_PKCS8_PREFIX, x25519PublicKey } from "./keys.ts";

const encoder = new TextEncoder();
const HPKE_V1 = encoder.encode("HPKE-v1");
/** suite_id of the KEM: "KEM" ‖ I2OSP(0x0020, 2). */
const KEM_SUITE = Uint8Array.from([0x4b, 0x45, 0x4d, 0x00, 0x20]);
/** suite_id of the scheme: "HPKE" ‖ kem 0x0020 ‖ kdf 0x0001 ‖ aead 0x0002. */
const HPKE_SUITE = Uint8Array.from([0x48, 0x50, 0x4b, 0x45, 0x00, 0x20, 0x00, 0x01, 0x00, 0x02]);
const ZERO_SALT = new Uint8Array(32);
const MODE_BASE = 0;

/** The result of a single-shot seal: the encapsulated key and the ciphertext. */
export interface HpkeSealed {
  enc: Uint8Array;
  ct: Uint8Array;
}

function i2osp2(n: number): Uint8Array {
  return Uint8Array.from([n >> 8, n & 0xff]);
}

/** The ikm of LabeledExtract: "HPKE-v1" ‖ suite_id ‖ label ‖ ikm. */
function labeledIkm(suite: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return concat(HPKE_V1, suite, encoder.encode(label), ikm);
}

/** The info of LabeledExpand: I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info. */
function labeledInfo(suite: Uint8Array, label: string, info: Uint8Array, length: number) {
  return concat(i2osp2(length), HPKE_V1, suite, encoder.encode(label), info);
}

/**
 * LabeledExpand(LabeledExtract(salt, extractLabel, ikm), expandLabel, info, length) as one
 * HKDF call. An empty salt is HashLen zero bytes (RFC 5869 §2.2), which HMAC treats the same.
 */
async function extractExpand(
  suite: Uint8Array,
  salt: Uint8Array,
  extractLabel: string,
  ikm: Uint8Array,
  expandLabel: string,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    buf(labeledIkm(suite, extractLabel, ikm)),
    "HKDF",
    false,
    ["deriveBits"],
  );
  return new Uint8Array(
    await crypto.subtle.deriveBits(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: buf(salt.length ? salt : ZERO_SALT),
        info: buf(labeledInfo(suite, expandLabel, info, length)),
      },
      key,
      length * 8,
    ),
  );
}

// Base mode extracts only with the empty salt: its HMAC key is imported once.
let zeroSaltKey: Promise<CryptoKey> | undefined;

/** LabeledExtract with the empty salt (an HMAC-SHA256 keyed by HashLen zero bytes). */
async function labeledExtract(suite: Uint8Array, label: string, ikm: Uint8Array) {
  zeroSaltKey ??= crypto.subtle.importKey(
    "raw",
    buf(ZERO_SALT),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const key = await zeroSaltKey;
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, buf(labeledIkm(suite, label, ikm))));
}

// psk_id_hash of base mode is a constant: computed once.
let pskIdHash: Promise<Uint8Array> | undefined;

async function keySchedule(sharedSecret: Uint8Array, info: Uint8Array) {
  pskIdHash ??= labeledExtract(HPKE_SUITE, "psk_id_hash", new Uint8Array(0));
  const infoHash = await labeledExtract(HPKE_SUITE, "info_hash", info);
  const context = concat(Uint8Array.of(MODE_BASE), await pskIdHash, infoHash);
  const empty = new Uint8Array(0);
  const [key, nonce] = await Promise.all([
    extractExpand(HPKE_SUITE, sharedSecret, "secret", empty, "key", context, 32),
    extractExpand(HPKE_SUITE, sharedSecret, "secret", empty, "base_nonce", context, 12),
  ]);
  return { key, nonce };
}

/** A recipient's X25519 public key, imported once (a seal to a known peer reuses it). */
function importPublic(publicKey: Uint8Array): Promise<CryptoKey> {
  return cachedKey(
    "x25519p:",
    publicKey,
    () => crypto.subtle.importKey("raw", buf(publicKey), "X25519", false, []),
  );
}

async function x25519(
  privateKey: CryptoKey,
  publicKey: Uint8Array,
  pub?: CryptoKey,
): Promise<Uint8Array> {
  pub ??= await crypto.subtle.importKey("raw", buf(publicKey), "X25519", false, []);
  const dh = new Uint8Array(
    await crypto.subtle.deriveBits({ name: "X25519", public: pub }, privateKey, 256),
  );
  // RFC 9180 §7.1.4: an all-zero shared secret (small-order peer key) must abort.
  if (dh.every((b) => b === 0)) throw fail("decrypt_failed", "small-order X25519 key");
  return dh;
}

/** A private scalar as a CryptoKey; an agent's own key is imported once (cached). */
function importPrivate(scalar: Uint8Array, cache = false): Promise<CryptoKey> {
  const make = () =>
    crypto.subtle.importKey(
      "pkcs8",
      buf(concat(X25519_PKCS8_PREFIX, scalar)),
      "X25519",
      false,
      ["deriveBits"],
    );
  return cache ? cachedKey("x25519s:", scalar, make) : make();
}

/** The ephemeral key pair: fresh, or DeriveKeyPair(ikm) (RFC 9180 §7.1.3) for test vectors. */
async function ephemeral(ikm?: Uint8Array): Promise<{ privateKey: CryptoKey; enc: Uint8Array }> {
  if (!ikm) {
    const pair = await crypto.subtle.generateKey({ name: "X25519" }, true, [
      "deriveBits",
    ]) as CryptoKeyPair;
    return {
      privateKey: pair.privateKey,
      enc: new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)),
    };
  }
  const sk = await extractExpand(
    KEM_SUITE,
    new Uint8Array(0),
    "dkp_prk",
    ikm,
    "sk",
    ikm.subarray(0, 0),
    32,
  );
  const privateKey = await importPrivate(sk);
  const enc = await x25519PublicKey(sk);
  return { privateKey, enc };
}

function sharedSecret(dh: Uint8Array, enc: Uint8Array, recipientPublicKey: Uint8Array) {
  return extractExpand(
    KEM_SUITE,
    new Uint8Array(0),
    "eae_prk",
    dh,
    "shared_secret",
    concat(enc, recipientPublicKey),
    32,
  );
}

/**
 * Single-shot HPKE base-mode seal to `recipientPublicKey` with `info` and empty aad.
 * `ikm` (32 bytes) makes the ephemeral key deterministic, for test vectors only.
 */
export async function hpkeSeal(
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  plaintext: Uint8Array,
  ikm?: Uint8Array,
): Promise<HpkeSealed> {
  const { privateKey, enc } = await ephemeral(ikm);
  const dh = await x25519(privateKey, recipientPublicKey, await importPublic(recipientPublicKey));
  const { key, nonce } = await keySchedule(
    await sharedSecret(dh, enc, recipientPublicKey),
    info,
  );
  const aes = await crypto.subtle.importKey("raw", buf(key), "AES-GCM", false, ["encrypt"]);
  const ct = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv: buf(nonce) }, aes, buf(plaintext)),
  );
  return { enc, ct };
}

/**
 * Single-shot HPKE base-mode open with the recipient's raw private scalar and public key.
 * Throws on any failure (the caller maps it to `decrypt_failed`).
 */
export async function hpkeOpen(
  recipientPrivateKey: Uint8Array,
  recipientPublicKey: Uint8Array,
  enc: Uint8Array,
  info: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  if (enc.length !== 32) throw fail("decrypt_failed", "enc must be 32 bytes");
  // The ephemeral `enc` is new every time; the recipient's own private key is not.
  const dh = await x25519(await importPrivate(recipientPrivateKey, true), enc);
  const { key, nonce } = await keySchedule(
    await sharedSecret(dh, enc, recipientPublicKey),
    info,
  );
  const aes = await crypto.subtle.importKey("raw", buf(key), "AES-GCM", false, ["decrypt"]);
  return new Uint8Array(
    await crypto.subtle.decrypt({ name: "AES-GCM", iv: buf(nonce) }, aes, buf(ciphertext)),
  );
}
