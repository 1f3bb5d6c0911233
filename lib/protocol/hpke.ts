/**
 * HPKE (RFC 9180) base mode, single-shot, for the one suite protocol v1 uses:
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM — on the native primitives of
 * primitives.ts.
 *
 * Why not a library: the general-purpose implementation cost ~0.75 ms per recipient here, most
 * of it in many small JavaScript-side HMAC calls. Each labelled Extract+Expand pair of the RFC is
 * one HKDF call (HKDF = Expand(Extract(salt, ikm), info)), so a seal is one key generation, one
 * X25519, three HKDF, one HMAC and one AES-GCM call. The output is the standard `enc ‖ ct`; the
 * envelope vectors, @hpke/core (tests/protocol/hpke_test.ts) and the independent noble
 * implementation in tests/protocol/noble_test.ts check it byte for byte.
 */
import { concatBytes as concat } from "./bytes.ts";
import { fail } from "./errors.ts";
import {
  aesGcmOpen,
  aesGcmSeal,
  hkdf,
  hmacSha256,
  x25519,
  x25519Generate,
  type X25519Key,
  x25519Private,
  x25519PublicKey,
} from "./primitives.ts";

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
 * HKDF call (HKDF = Expand(Extract(salt, ikm), info)).
 */
function extractExpand(
  suite: Uint8Array,
  salt: Uint8Array,
  extractLabel: string,
  ikm: Uint8Array,
  expandLabel: string,
  info: Uint8Array,
  length: number,
): Uint8Array {
  return hkdf(
    labeledIkm(suite, extractLabel, ikm),
    salt.length ? salt : ZERO_SALT,
    labeledInfo(suite, expandLabel, info, length),
    length,
  );
}

/** LabeledExtract with the empty salt (an HMAC-SHA256 keyed by HashLen zero bytes). */
function labeledExtract(suite: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return hmacSha256(ZERO_SALT, labeledIkm(suite, label, ikm));
}

// psk_id_hash of base mode is a constant.
const PSK_ID_HASH = labeledExtract(HPKE_SUITE, "psk_id_hash", new Uint8Array(0));

function keySchedule(sharedSecret: Uint8Array, info: Uint8Array) {
  const infoHash = labeledExtract(HPKE_SUITE, "info_hash", info);
  const context = concat(Uint8Array.of(MODE_BASE), PSK_ID_HASH, infoHash);
  const empty = new Uint8Array(0);
  return {
    key: extractExpand(HPKE_SUITE, sharedSecret, "secret", empty, "key", context, 32),
    nonce: extractExpand(HPKE_SUITE, sharedSecret, "secret", empty, "base_nonce", context, 12),
  };
}

/**
 * X25519 with the abort of RFC 9180 §7.1.4 (all-zero shared secret) as `decrypt_failed`;
 * `keep`: the peer key is a static one, worth caching.
 */
function dh(privateKey: X25519Key, publicKey: Uint8Array, keep: boolean): Uint8Array {
  try {
    return x25519(privateKey, publicKey, keep);
  } catch {
    throw fail("decrypt_failed", "small-order or malformed X25519 key");
  }
}

/** The ephemeral key pair: fresh, or DeriveKeyPair(ikm) (RFC 9180 §7.1.3) for test vectors. */
function ephemeral(ikm?: Uint8Array): { privateKey: X25519Key; enc: Uint8Array } {
  if (!ikm) {
    const pair = x25519Generate();
    return { privateKey: pair.key, enc: pair.publicKey };
  }
  const sk = extractExpand(
    KEM_SUITE,
    new Uint8Array(0),
    "dkp_prk",
    ikm,
    "sk",
    ikm.subarray(0, 0),
    32,
  );
  return { privateKey: x25519Private(sk), enc: x25519PublicKey(sk) };
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
export function hpkeSeal(
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  plaintext: Uint8Array,
  ikm?: Uint8Array,
): Promise<HpkeSealed> {
  return Promise.resolve().then(() => {
    const { privateKey, enc } = ephemeral(ikm);
    const secret = sharedSecret(dh(privateKey, recipientPublicKey, true), enc, recipientPublicKey);
    const { key, nonce } = keySchedule(secret, info);
    return { enc, ct: aesGcmSeal(key, nonce, plaintext) };
  });
}

/**
 * Single-shot HPKE base-mode open with the recipient's raw private scalar and public key.
 * Throws on any failure (the caller maps it to `decrypt_failed`).
 */
export function hpkeOpen(
  recipientPrivateKey: Uint8Array,
  recipientPublicKey: Uint8Array,
  enc: Uint8Array,
  info: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  return Promise.resolve().then(() => {
    if (enc.length !== 32) throw fail("decrypt_failed", "enc must be 32 bytes");
    // The ephemeral `enc` is new every time; the recipient's own private key is not.
    const own = x25519Private(recipientPrivateKey, true);
    const secret = sharedSecret(dh(own, enc, false), enc, recipientPublicKey);
    const { key, nonce } = keySchedule(secret, info);
    return aesGcmOpen(key, nonce, ciphertext);
  });
}
