/**
 * Ed25519 signature checks of texts for the relay's hot path: the signature Worker and the
 * relay thread check the signed text of an envelope as it came in (base64url key and signature,
 * UTF-8 text), with the protocol's own primitives (primitives.ts, node:crypto: small-order keys
 * refused when the key is parsed). Keys are kept by their base64url form, as they arrive. A first
 * check only: whatever it does not pass is checked again by the protocol's `verifyEnvelope`,
 * which gives the refusal its code and message. tests/relay/ed25519_test.ts holds it to
 * WebCrypto's and noble's answers on edge cases (non-canonical S and R, small- and mixed-order
 * keys, flipped bits, wrong lengths).
 * @module
 */
import { Buffer } from "node:buffer";
// Not through protocol/mod.ts: the signature Worker loads this file, and its heap needs
// neither zod nor the rest of the protocol.
import { decodeBase64Url } from "../protocol/base64url.ts";
import { type Ed25519Key, ed25519VerifyingKey, ed25519VerifyWith } from "../protocol/primitives.ts";

/** Keys kept, by base64url; cleared when full (senders are few against this bound). */
const MAX_KEYS = 4096;

/** Checks Ed25519 signatures of texts; keeps parsed keys by their base64url form. */
export class Ed25519Checker {
  private readonly keys = new Map<string, Ed25519Key | null>();

  /**
   * True when `sig` (base64url, 64 bytes) is `publicKey`'s (base64url, 32 bytes) signature of
   * `text`'s UTF-8 bytes; false for anything else, malformed input included.
   */
  check(publicKey: string, sig: string, text: string): boolean {
    try {
      const key = this.key(publicKey);
      return key !== null &&
        ed25519VerifyWith(key, Buffer.from(text, "utf8"), decodeBase64Url(sig));
    } catch {
      return false;
    }
  }

  private key(publicKey: string): Ed25519Key | null {
    const known = this.keys.get(publicKey);
    if (known !== undefined) return known;
    const raw = decodeBase64Url(publicKey);
    const key = raw.length === 32 ? ed25519VerifyingKey(raw) : null;
    if (this.keys.size >= MAX_KEYS) this.keys.clear();
    this.keys.set(publicKey, key);
    return key;
  }
}
