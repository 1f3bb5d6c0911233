/**
 * The signature Worker (see verify_pool.ts): checks Ed25519 signatures of envelopes for the
 * relay's thread. It gets the sender's public key and the signature as base64url and the
 * signing text (the JCS form, already written on the relay's thread), and answers true only
 * when the signature verifies; anything else is answered false and checked again on the
 * relay's thread, which then gives the refusal its exact message.
 * @module
 */
/// <reference lib="deno.worker" />
import { decodeBase64Url } from "../protocol/base64url.ts";
import { verify } from "../protocol/keys.ts";

/** One signature to check. */
export interface VerifyRequest {
  id: number;
  /** The sender's Ed25519 public key, base64url. */
  key: string;
  /** The signing text: JCS of the envelope without `sig`. */
  text: string;
  /** The signature, base64url. */
  sig: string;
}

/** The answers to one message of requests, in its order. */
export interface VerifyReply {
  ids: number[];
  ok: boolean[];
}

const encoder = new TextEncoder();
const keys = new Map<string, Uint8Array>();

async function check(r: VerifyRequest): Promise<boolean> {
  try {
    let key = keys.get(r.key);
    if (!key) {
      if (keys.size >= 4096) keys.clear();
      keys.set(r.key, key = decodeBase64Url(r.key));
    }
    return await verify(key, encoder.encode(r.text), decodeBase64Url(r.sig));
  } catch {
    return false;
  }
}

self.onmessage = async (event: MessageEvent<VerifyRequest[]>) => {
  const requests = event.data;
  const ok = await Promise.all(requests.map(check));
  self.postMessage({ ids: requests.map((r) => r.id), ok } satisfies VerifyReply);
};
