/**
 * Agent keys (design §4): Ed25519 signing and X25519 encryption keys as raw 32-byte values,
 * signatures with the small-order-key check, fingerprints, and the signed inputs of
 * registration and rotation. The primitives are primitives.ts's (node:crypto, design §3).
 */
import { decodeBase64Url } from "./base64url.ts";
import { concatBytes } from "./bytes.ts";
import { canonicalBytes } from "./canonical.ts";
import {
  ed25519PublicKey as edPublic,
  ed25519Sign,
  ed25519Verify,
  sha256 as sha256Sync,
  x25519PublicKey as xPublic,
} from "./primitives.ts";

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

/** The Ed25519 public key of a 32-byte seed. */
export function ed25519PublicKey(seed: Uint8Array): Promise<Uint8Array> {
  return Promise.resolve().then(() => edPublic(seed));
}

/** The X25519 public key of a 32-byte private scalar. */
export function x25519PublicKey(privateKey: Uint8Array): Promise<Uint8Array> {
  return Promise.resolve().then(() => xPublic(privateKey));
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
export function sign(signingPrivateKey: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  return Promise.resolve().then(() => ed25519Sign(signingPrivateKey, message));
}

/**
 * Verifies an Ed25519 signature; false on any mismatch or malformed input, and for public keys
 * of small order (which would verify forged signatures).
 */
export function verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  return Promise.resolve(ed25519Verify(publicKey, message, signature));
}

/** SHA-256 digest. */
export function sha256(data: Uint8Array): Promise<Uint8Array> {
  return Promise.resolve(sha256Sync(data));
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
