/**
 * The reference HPKE implementation (@hpke/core) for protocol v1's suite — DHKEM(X25519,
 * HKDF-SHA256), HKDF-SHA256, AES-256-GCM — used only by tests and the vector generator to check
 * the native one in lib/protocol/hpke.ts.
 * @module
 */
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "../deps/hpke.ts";

/** The suite, as @hpke/core implements it. */
export const referenceHpke = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes256Gcm(),
});
