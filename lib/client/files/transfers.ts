/**
 * Background file transfers (design §12), one at a time, driven by the `files` table so they
 * survive a restart or kill -9: uploads seal each chunk from the stored plaintext and skip the
 * chunks the relay already holds (resume at the first missing one), then release the held
 * envelope to the outbox; downloads open and verify each chunk into a temporary file (resume
 * after the chunks already verified), check the size and SHA-256, and only then publish the file
 * under its hash. A chunk or hash that does not verify quarantines the file; a relay refusal
 * fails it with the relay's code; an unreachable relay is retried with backoff.
 */
import { createHash } from "node:crypto";
import {
  BLOB_CHUNK_SIZE,
  blobChunkCount,
  decodeBase64Url,
  encodeBase64Url,
  type ErrorCode,
  importBlobKey,
  isTaskType,
  openBlobChunk,
  sealBlobChunk,
  TaskferryError,
} from "../../protocol/mod.ts";
import { logger } from "../../log.ts";
import type { Daemon } from "../daemon.ts";
import type { FileRow } from "../store/mod.ts";
import { revertRefusedTaskEvent } from "../tasks/mod.ts";
import type { RelayBlobs } from "./relay_blobs.ts";
import { pipelined } from "./pipeline.ts";
import { type FileVault, readFull, writeAll } from "./vault.ts";

const log = logger("files");

/** Codes worth retrying: the relay or the network, not the request. */
const TRANSIENT = new Set(["unavailable", "internal", "rate_limited", "retry_later"]);

/** The transfer loop of one daemon. */
export class FileTransfers {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private backoffMs = 250;

  constructor(
    private readonly d: Daemon,
    private readonly vault: FileVault,
    private readonly relay: RelayBlobs | null,
  ) {}

  /** Runs pending transfers now (or right after the running pass). */
  kick() {
    if (this.stopped || !this.relay) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => this.running = null);
  }

  /** The relay link is up again: retry what waits for it now, not after the backoff. */
  relayUp() {
    this.backoffMs = 250;
    clearTimeout(this.retryTimer);
    this.kick();
  }

  /** Stops between chunks; what is done stays done, the rest resumes at the next start. */
  async stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.running;
  }

  private async loop() {
    do {
      this.again = false;
      // Envelopes whose uploads all finished before a crash let go of their hold.
      for (const held of this.d.store.files.heldMessages()) this.release(held.id, held.agent);
      let transient = false;
      for (const direction of ["out", "in"] as const) {
        const rows = this.d.store.files.pending(direction, 100);
        if (rows.length === 100) this.again = true; // a full page: more may wait behind it
        for (const row of rows) {
          if (this.stopped) return;
          // A file of a message that already failed is failed with it (fail below).
          const fresh = this.d.store.files.get(row.blob_id, row.agent);
          if (fresh?.state !== "pending") continue;
          transient = !(await this.attempt(fresh)) || transient;
        }
      }
      if (transient && !this.stopped) {
        this.again = false; // the timer retries, after the backoff
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.kick(), this.backoffMs);
        this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
      } else this.backoffMs = 250;
    } while (this.again && !this.stopped);
  }

  /** One transfer; false when it should be retried later. */
  private async attempt(row: FileRow): Promise<boolean> {
    try {
      if (row.direction === "out") await this.upload(row);
      else await this.download(row);
      return true;
    } catch (err) {
      const code = err instanceof TaskferryError ? err.code : "unavailable";
      if (TRANSIENT.has(code) || !(err instanceof TaskferryError)) {
        log.info("file transfer interrupted; retrying", { blob_id: row.blob_id, err });
        return false;
      }
      await this.fail(row, code, (err as Error).message);
      return true;
    }
  }

  private emit(row: FileRow, data: Record<string, unknown>) {
    this.d.events.emit("file", { id: row.blob_id, message_id: row.message_id, ...data }, row.agent);
  }

  private async upload(row: FileRow) {
    const relay = this.relay!;
    const chunks = blobChunkCount(row.size);
    const status = await relay.status(row.blob_id);
    if (!status?.finalized) {
      const stored = new Set(status?.stored ?? []);
      let first = 0;
      while (stored.has(first)) first++;
      this.emit(row, { state: "uploading", from_chunk: first, chunks });
      log.info("uploading file", { blob_id: row.blob_id, from_chunk: first, chunks });
      if (!this.vault.has(row.sha256)) {
        throw new TaskferryError("file_not_found", `the stored copy of ${row.name} is gone`);
      }
      const key = await importBlobKey(decodeBase64Url(row.key));
      const path = this.vault.pathOf(row.sha256);
      const missing = [...Array(chunks).keys()].filter((i) => !stored.has(i));
      await pipelined(
        missing,
        async (i) => {
          // A handle per chunk: chunks are read concurrently at their own offsets.
          using file = await Deno.open(path, { read: true });
          await file.seek(i * BLOB_CHUNK_SIZE, Deno.SeekMode.Start);
          const plain = await readFull(file, BLOB_CHUNK_SIZE);
          const sealed = await sealBlobChunk(key, row.blob_id, i, i === chunks - 1, plain);
          await relay.putChunk(row.blob_id, row.size, i, sealed);
        },
        (i) => this.d.store.files.progress(row.blob_id, row.agent, i + 1, this.d.nowIso()),
        () => this.stopped,
      );
      if (this.stopped) return;
      await relay.finalize(row.blob_id);
    }
    this.d.store.files.finish(row.blob_id, row.agent, "ready", this.d.nowIso());
    this.emit(row, { state: "ready" });
    this.release(row.message_id, row.agent);
  }

  /** Moves the held envelope to the outbox once every file of its message is uploaded. */
  private release(messageId: string, agent: string) {
    const files = this.d.store.files.ofMessage(messageId, agent);
    if (files.some((f) => f.state !== "ready")) return;
    const moved = this.d.store.transaction(() => {
      const held = this.d.store.files.held(messageId);
      if (!held) return false;
      this.d.store.outbox.insert(messageId, held.envelope, held.created_at);
      this.d.store.files.release(messageId);
      return true;
    });
    if (moved) this.d.link?.flush();
  }

  private async download(row: FileRow) {
    const relay = this.relay!;
    const chunks = blobChunkCount(row.size);
    // Always fetched and verified, even when the same plaintext is stored already: a sender that
    // names a known hash must not make a file appear in its message without sending it.
    const tmp = this.vault.tmpPath(`${row.blob_id}.${encodeBase64Url(enc.encode(row.agent))}`);
    using file = await Deno.open(tmp, { read: true, write: true, create: true, mode: 0o600 });
    // Resume after the chunks verified so far (the file may be shorter after a crash).
    const length = (await file.stat()).size;
    const done = Math.min(row.done_chunks, Math.floor(length / BLOB_CHUNK_SIZE));
    await file.truncate(done * BLOB_CHUNK_SIZE);
    const hash = createHash("sha256");
    for (let i = 0; i < done; i++) hash.update(await readFull(file, BLOB_CHUNK_SIZE));
    await file.seek(done * BLOB_CHUNK_SIZE, Deno.SeekMode.Start);
    this.emit(row, { state: "downloading", from_chunk: done, chunks });
    log.info("downloading file", { blob_id: row.blob_id, from_chunk: done, chunks });
    const key = await importBlobKey(decodeBase64Url(row.key));
    let size = done * BLOB_CHUNK_SIZE;
    let corrupt: string | null = null;
    const rest = [...Array(chunks - done).keys()].map((k) => done + k);
    await pipelined(rest, async (i) => {
      const sealed = await relay.getChunk(row.blob_id, i);
      return await openBlobChunk(key, row.blob_id, i, i === chunks - 1, sealed).catch((err) => {
        corrupt ??= (err as Error).message;
        return null;
      });
    }, async (i, plain) => {
      if (corrupt !== null || plain === null) return;
      hash.update(plain);
      size += plain.length;
      await writeAll(file, plain);
      this.d.store.files.progress(row.blob_id, row.agent, i + 1, this.d.nowIso());
    }, () => this.stopped || corrupt !== null);
    if (corrupt !== null) return await this.quarantine(row, tmp, corrupt);
    if (this.stopped) return;
    await file.sync();
    const digest = encodeBase64Url(new Uint8Array(hash.digest()));
    if (size !== row.size || digest !== row.sha256) {
      return await this.quarantine(row, tmp, "the file's size or SHA-256 differ from the sender's");
    }
    await this.vault.publish(tmp, row.sha256);
    this.ready(row);
  }

  private ready(row: FileRow) {
    this.d.store.files.finish(row.blob_id, row.agent, "ready", this.d.nowIso());
    this.emit(row, { state: "ready" });
  }

  private async quarantine(row: FileRow, tmp: string, why: string) {
    await this.vault.quarantine(tmp, `${row.blob_id}.${Date.now()}`);
    log.warn("received file failed verification; quarantined", { blob_id: row.blob_id, why });
    await this.fail(row, "blob_corrupt", why);
  }

  /**
   * Fails a transfer. An upload's failure fails its message like a relay refusal does (the
   * sender sees the code) and reverts the task event it carried (tasks/refusal.ts).
   */
  private async fail(row: FileRow, code: ErrorCode, message: string) {
    const at = this.d.nowIso();
    if (row.direction === "out") {
      await this.d.lock.run(() => {
        // One transaction: a crash leaves the message either sending or failed, never stuck.
        this.d.store.transaction(() => {
          for (const f of this.d.store.files.ofMessage(row.message_id, row.agent)) {
            this.d.store.files.finish(f.blob_id, f.agent, "failed", at, { code, message });
          }
          this.d.store.files.release(row.message_id);
          this.d.delivery.advanceOut(row.message_id, "failed", "local", { code, reason: message });
          const sent = this.d.store.messages.outbound(row.message_id);
          if (sent && isTaskType(sent.type)) {
            revertRefusedTaskEvent(this.d, row.message_id, `${code}: ${message}`);
          }
        });
        return Promise.resolve();
      });
    } else {
      this.d.store.files.finish(row.blob_id, row.agent, "failed", at, { code, message });
    }
    this.emit(row, { state: "failed", code, reason: message });
  }
}

const enc = new TextEncoder();
