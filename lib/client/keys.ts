/**
 * Key material as the daemon stores it (base64url text): the one home of "the fingerprint of
 * these stored keys" and of turning fresh keys into stored form. Fingerprints are always
 * computed here from the keys, never taken from the relay or an invite.
 */
import { type AgentKeys, encodeBase64Url, fingerprintOf } from "../protocol/mod.ts";
import type { StoredKeys } from "./store/mod.ts";

/** Public keys as stored (base64url). */
export interface PublicKeyText {
  signing_public_key: string;
  encryption_public_key: string;
}

/** The fingerprint of stored public keys (the protocol's rule, on the stored text form). */
export const keyFingerprint: (keys: PublicKeyText) => Promise<string> = fingerprintOf;

/** Fresh keys in stored form, with their fingerprint. */
export async function storedKeys(keys: AgentKeys): Promise<StoredKeys> {
  const text = {
    signing_private_key: encodeBase64Url(keys.signing.privateKey),
    signing_public_key: encodeBase64Url(keys.signing.publicKey),
    encryption_private_key: encodeBase64Url(keys.encryption.privateKey),
    encryption_public_key: encodeBase64Url(keys.encryption.publicKey),
  };
  return { ...text, fingerprint: await keyFingerprint(text) };
}
