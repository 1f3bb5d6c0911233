/**
 * Ed25519 signature checks for the relay's hot path through `node:crypto`, built into Deno:
 * about twice as fast here as WebCrypto's Ed25519 (bench/verify_turns.ts: ~26 against ~53 µs
 * per 1.5 KB envelope). The protocol keeps WebCrypto (design §3); this is a first check only —
 * whatever it does not pass is checked again by the protocol's `verifyEnvelope`, which gives
 * the refusal its code and message, so it can only make the relay refuse with the protocol's
 * own words, never accept what the protocol refuses: both refuse small-order keys (the rule
 * lives in `isSmallOrderEd25519`), and tests/relay/ed25519_test.ts holds both to the same
 * answers on edge cases (non-canonical S and R, flipped bits, wrong lengths).
 * @module
 */
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { Buffer } from "node:buffer";
// Not through protocol/mod.ts: the signature Worker loads this file, and its heap needs
// neither zod nor the rest of the protocol.
import { decodeBase64Url } from "../protocol/base64url.ts";
import { isSmallOrderEd25519 } from "../protocol/keys.ts";

/** SubjectPublicKeyInfo prefix of an Ed25519 key (RFC 8410): the raw 32 bytes follow it. */
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
/** Keys cached, by base64url; cleared when full (senders are few against this bound). */
const MAX_KEYS = 4096;

/** Checks Ed25519 signatures of texts; caches parsed keys by their base64url form. */
export class Ed25519Checker {
  private readonly keys = new Map<string, KeyObject | null>();

  /**
   * True when `sig` (base64url, 64 bytes) is `publicKey`'s (base64url, 32 bytes) signature of
   * `text`'s UTF-8 bytes; false for anything else, malformed input included.
   */
  check(publicKey: string, sig: string, text: string): boolean {
    try {
      const key = this.key(publicKey);
      if (key === null) return false;
      const signature = decodeBase64Url(sig);
      if (signature.length !== 64) return false;
      return verify(null, Buffer.from(text, "utf8"), key, signature);
    } catch {
      return false;
    }
  }

  private key(publicKey: string): KeyObject | null {
    const known = this.keys.get(publicKey);
    if (known !== undefined) return known;
    const raw = decodeBase64Url(publicKey);
    const key = raw.length !== 32 || isSmallOrderEd25519(raw)
      ? null
      : createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
    if (this.keys.size >= MAX_KEYS) this.keys.clear();
    this.keys.set(publicKey, key);
    return key;
  }
}
