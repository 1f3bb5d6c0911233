/**
 * The signature Worker (see verify_pool.ts): checks Ed25519 signatures of envelopes for the
 * relay's thread. It gets the sender's public key and the signature as base64url and the
 * signing text (the JCS form, already written on the relay's thread), and answers true only
 * when the signature verifies; anything else is answered false and checked again on the
 * relay's thread, which then gives the refusal its exact message.
 * @module
 */
/// <reference lib="deno.worker" />
import { Ed25519Checker } from "./ed25519.ts";

/**
 * One message of checks: the id of the first (the others follow it, one apart), and each
 * check as three lines — the sender's public key and the signature (base64url), and the
 * signing text (JCS, which never holds a raw newline) — all in one string: one copy to pass
 * between threads instead of an object per check.
 */
export type VerifyBatch = [firstId: number, lines: string];

/** An answer to part of a batch: its first id and, per check, whether the signature verified. */
export type VerifyReply = [firstId: number, ok: boolean[]];

const checker = new Ed25519Checker();

/**
 * Answers go back in parts of this many checks, as they are done: the relay's thread stores
 * and answers the first part while this thread checks the next, instead of both taking turns
 * over a whole batch (with a daemon's window full, a turn's batch is all it sent).
 */
export const REPLY_CHECKS = 8;

self.onmessage = (event: MessageEvent<VerifyBatch>) => {
  const [firstId, text] = event.data;
  const lines = text.split("\n");
  let ok: boolean[] = [];
  let partFirst = firstId;
  for (let i = 0; i + 2 < lines.length; i += 3) {
    ok.push(checker.check(lines[i]!, lines[i + 1]!, lines[i + 2]!));
    if (ok.length === REPLY_CHECKS) {
      self.postMessage([partFirst, ok] satisfies VerifyReply);
      partFirst += ok.length;
      ok = [];
    }
  }
  if (ok.length > 0) self.postMessage([partFirst, ok] satisfies VerifyReply);
};
