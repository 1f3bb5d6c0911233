/**
 * Envelope signatures checked off the relay's event loop (issue 21). Deno's WebCrypto verifies
 * Ed25519 synchronously on the calling thread: about a quarter of the relay thread's work per
 * envelope. Here a Worker (verify_worker.ts) does it while the relay's thread goes on parsing,
 * writing SQLite and serving sockets. The checks asked for in one turn of the event loop go to
 * the Worker in one message.
 *
 * Every signature is still checked: a Worker that cannot start, fails or is closed hands the
 * work back to the calling thread, and whatever the Worker does not answer `true` is checked
 * again on the calling thread by `verifyEnvelope`, which throws the refusal with its usual code
 * and message (so a refusal reads the same whichever thread saw it first).
 * @module
 */
import { setImmediate } from "node:timers";
import {
  decodeBase64Url,
  type Envelope,
  fastSigningText,
  verifyEnvelope,
} from "../protocol/mod.ts";
import { logger } from "../log.ts";
import type { VerifyReply, VerifyRequest } from "./verify_worker.ts";

const log = logger("relay");

/** Checks envelope signatures; {@link close} when the relay stops. */
export class SignatureVerifier {
  /** Started at the first check: a relay that never sees an envelope never starts one. */
  private worker: Worker | null = null;
  private failed = false;
  private closed = false;
  private nextId = 1;
  private readonly waiting = new Map<number, (ok: boolean) => void>();
  private batch: VerifyRequest[] = [];
  /** Signatures the Worker found valid (tests, benchmarks). */
  passedInWorker = 0;

  /** Checks `envelope`'s signature by `publicKey` (base64url); throws `bad_signature`. */
  async verify(envelope: Envelope, publicKey: string): Promise<void> {
    const text = fastSigningText(envelope);
    const worker = text === null ? null : this.start();
    if (worker !== null && text !== null) {
      const ok = await new Promise<boolean>((resolve) => {
        const id = this.nextId++;
        this.waiting.set(id, resolve);
        if (this.batch.length === 0) setImmediate(() => this.flush());
        this.batch.push({ id, key: publicKey, text, sig: envelope.sig });
      });
      if (ok) {
        this.passedInWorker++;
        return;
      }
    }
    // Not answered true (or no Worker): this thread checks, and refuses with the usual error.
    await verifyEnvelope(envelope, decodeBase64Url(publicKey));
  }

  /** Stops the Worker; checks asked for later run on the calling thread. */
  close() {
    this.closed = true;
    this.worker?.terminate();
    this.worker = null;
    this.giveUp();
  }

  private start(): Worker | null {
    if (this.worker || this.failed || this.closed) return this.worker;
    try {
      const worker = new Worker(new URL("./verify_worker.ts", import.meta.url), {
        type: "module",
      });
      worker.onmessage = (event: MessageEvent<VerifyReply>) => {
        const { ids, ok } = event.data;
        ids.forEach((id, i) => this.answer(id, ok[i] === true));
      };
      worker.onerror = (event) => {
        event.preventDefault();
        log.warn("signature worker failed; verifying on the relay thread", { err: event.message });
        this.failed = true;
        this.worker?.terminate();
        this.worker = null;
        this.giveUp();
      };
      this.worker = worker;
    } catch (err) {
      log.warn("signature worker did not start; verifying on the relay thread", { err });
      this.failed = true;
    }
    return this.worker;
  }

  private flush() {
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    if (!this.worker) {
      for (const r of batch) this.answer(r.id, false);
      return;
    }
    this.worker.postMessage(batch);
  }

  private answer(id: number, ok: boolean) {
    const resolve = this.waiting.get(id);
    if (!resolve) return;
    this.waiting.delete(id);
    resolve(ok);
  }

  /** Hands every open check back to the calling thread (answered false: checked there). */
  private giveUp() {
    this.batch = [];
    for (const id of [...this.waiting.keys()]) this.answer(id, false);
  }
}
