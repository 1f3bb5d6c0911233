/**
 * Ed25519 signature checks of texts for the relay's hot path: the signature Worker and the
 * relay thread check the signed text of an envelope as it came in (base64url key and signature,
 * UTF-8 text), with the protocol's own primitive (`ed25519Verify`, node:crypto, which refuses
 * small-order keys). A first check only: whatever it does not pass is checked again by the
 * protocol's `verifyEnvelope`, which gives the refusal its code and message.
 * tests/relay/ed25519_test.ts holds it to WebCrypto's and noble's answers on edge cases
 * (non-canonical S and R, small- and mixed-order keys, flipped bits, wrong lengths).
 * @module
 */
// Not through protocol/mod.ts: the signature Worker loads this file, and its heap needs
// neither zod nor the rest of the protocol.
import { decodeBase64Url } from "../protocol/base64url.ts";
import { ed25519Verify } from "../protocol/primitives.ts";

const encoder = new TextEncoder();

/** Checks Ed25519 signatures of texts (parsed keys are cached by primitives.ts). */
export class Ed25519Checker {
  /**
   * True when `sig` (base64url, 64 bytes) is `publicKey`'s (base64url, 32 bytes) signature of
   * `text`'s UTF-8 bytes; false for anything else, malformed input included.
   */
  check(publicKey: string, sig: string, text: string): boolean {
    try {
      return ed25519Verify(decodeBase64Url(publicKey), encoder.encode(text), decodeBase64Url(sig));
    } catch {
      return false;
    }
  }
}
