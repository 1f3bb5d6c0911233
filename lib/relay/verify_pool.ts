/**
 * Envelope signatures checked off the relay's event loop (issue 21). A check (ed25519.ts) runs
 * synchronously on the calling thread: once about a quarter of the relay thread's work per
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
import { Ed25519Checker } from "./ed25519.ts";
import type { VerifyBatch, VerifyReply } from "./verify_worker.ts";

const log = logger("relay");

/**
 * Larger envelopes are checked on the calling thread: a copy of each in a second heap (the
 * Worker's, until its GC runs) costs more memory than the thread time it saves — 40 envelopes
 * of 1.9 MB held ~40 MB more (tests/relay/dos_test.ts) — and they are rare.
 */
const WORKER_MAX_CHARS = 64 * 1024;

/**
 * A turn with fewer checks than this verifies them on the calling thread: posting to the Worker
 * and waking it costs more CPU than the checks save. Measured (bench/verify_turns.ts, ~1.5 KB
 * envelopes, whole-process CPU per check): a turn of one costs ~150 µs through the Worker
 * against ~85 µs here, four ~57 against ~41, eight ~45 against ~34, sixteen ~35 against ~31 —
 * while the Worker takes the ~26 µs of the check itself off this thread. Under light load a turn
 * holds one or two envelopes (the daemon case), and the relay's thread has time to spare.
 */
export const WORKER_MIN_BATCH = 8;

/** Checks envelope signatures; {@link close} when the relay stops. */
export class SignatureVerifier {
  /** Started at the first check: a relay that never sees an envelope never starts one. */
  private worker: Worker | null = null;
  private failed = false;
  private closed = false;
  private nextId = 1;
  private readonly waiting = new Map<number, (ok: boolean) => void>();
  /** The checks of this turn, not yet sent: the first one's id, and their lines. */
  private batchFirst = 0;
  private batch: string[] = [];
  /** Signatures the Worker found valid (tests, benchmarks). */
  passedInWorker = 0;
  /** This thread's first check (node:crypto; see ed25519.ts). */
  private readonly checker = new Ed25519Checker();

  /** `minBatch`: see {@link WORKER_MIN_BATCH} (tests set 1 to send every turn to the Worker). */
  constructor(private readonly minBatch = WORKER_MIN_BATCH) {}

  /** Checks `envelope`'s signature by `publicKey` (base64url); throws `bad_signature`. */
  async verify(envelope: Envelope, publicKey: string): Promise<void> {
    const text = fastSigningText(envelope);
    if (text !== null) {
      const worker = text.length > WORKER_MAX_CHARS ? null : this.start();
      if (
        worker === null
          ? this.checker.check(publicKey, envelope.sig, text)
          : await this.queue(publicKey, envelope.sig, text)
      ) return;
    }
    // Not passed (or no signing text): the protocol checks, and refuses with the usual error.
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
        const [firstId, ok] = event.data;
        ok.forEach((valid, i) => {
          if (valid) this.passedInWorker++;
          this.answer(firstId + i, valid);
        });
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

  /** Adds a check to this turn's batch; its answer comes when the batch is checked. */
  private queue(publicKey: string, sig: string, text: string): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const id = this.nextId++;
      this.waiting.set(id, resolve);
      if (this.batch.length === 0) {
        this.batchFirst = id;
        setImmediate(() => this.flush());
      }
      this.batch.push(publicKey, sig, text);
    });
  }

  private flush() {
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    // A small turn is checked on this thread (see WORKER_MIN_BATCH), unless the Worker is
    // still busy with earlier turns: then this thread is busy too, and it goes to the Worker.
    const count = batch.length / 3;
    const workerBusy = this.waiting.size > count;
    if (!this.worker || (count < this.minBatch && !workerBusy)) {
      for (let i = 0; i < batch.length / 3; i++) {
        this.answer(
          this.batchFirst + i,
          this.checker.check(batch[3 * i]!, batch[3 * i + 1]!, batch[3 * i + 2]!),
        );
      }
      return;
    }
    this.worker.postMessage([this.batchFirst, batch.join("\n")] satisfies VerifyBatch);
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
