/**
 * Seals an envelope around arbitrary plaintext *bytes* (invalid UTF-8, not JSON, any nesting),
 * exactly as `sealEnvelope` does for JSON values — so tests can play a malicious peer whose
 * envelopes are validly signed and encrypted but carry hostile content.
 * @module
 */
import {
  aadObject,
  canonicalBytes,
  encodeBase64Url,
  type Envelope,
  type EnvelopeHeader,
  hpkeInfo,
  PAYLOAD_ALG,
  randomBytes,
  sign,
  signingInput,
} from "../../../lib/protocol/mod.ts";
import { hpkeSeal } from "../../../lib/protocol/hpke.ts";

const buf = (b: Uint8Array) => b.slice().buffer as ArrayBuffer;

/** Encrypts `plaintext` to each recipient and signs with `signingPrivateKey`. */
export async function sealRaw(
  header: EnvelopeHeader,
  plaintext: Uint8Array,
  signingPrivateKey: Uint8Array,
  recipients: { handle: string; encryptionPublicKey: Uint8Array }[],
): Promise<Envelope> {
  const contentType = "application/json";
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const aad = canonicalBytes(aadObject(header, contentType));
  const aes = await crypto.subtle.importKey("raw", buf(key), "AES-GCM", false, ["encrypt"]);
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: buf(nonce), additionalData: buf(aad) },
      aes,
      buf(plaintext),
    ),
  );
  const keys = [];
  for (const r of recipients) {
    const sealed = await hpkeSeal(r.encryptionPublicKey, hpkeInfo(header.id, r.handle), key);
    keys.push({
      to: r.handle,
      enc: encodeBase64Url(sealed.enc),
      wrapped: encodeBase64Url(sealed.ct),
    });
  }
  const unsigned: Omit<Envelope, "sig"> = {
    ...header,
    payload: {
      alg: PAYLOAD_ALG,
      content_type: contentType,
      nonce: encodeBase64Url(nonce),
      ciphertext: encodeBase64Url(ciphertext),
      keys,
    },
  };
  const sig = await sign(signingPrivateKey, signingInput(unsigned));
  return { ...unsigned, sig: encodeBase64Url(sig) };
}
