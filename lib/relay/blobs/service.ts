/**
 * The relay's blob rules applied to a BlobStore, written once for both stores (design §12):
 * uploads chunk by chunk with resume, size and quota refusals that store nothing, finalize, read
 * grants from accepted envelopes, fetch tracking and the expiry sweep. The clock is injected.
 */
import { blobChunkCount, fail, isId, type TaskferryError } from "../../protocol/mod.ts";
import {
  type BlobLimits,
  DEFAULT_BLOB_LIMITS,
  readRefusal,
  referenceRefusal,
  type Refusal,
  sealedBlobSize,
  sealedChunkSize,
  writeRefusal,
} from "./rules.ts";
import type { BlobRecord, BlobStore, BlobUsage } from "./store.ts";

/** What `GET /v1/blobs/{id}` answers: enough to resume an upload or plan a download. */
export interface BlobStatus {
  blob_id: string;
  size: number;
  chunk_size: number;
  /** Total number of chunks. */
  chunks: number;
  /** Indexes of the chunks stored so far, ascending. */
  stored: number[];
  /** The first index not stored yet, or null when all are. */
  next_missing: number | null;
  finalized: boolean;
  expires_at: string;
}

const refuse = (r: Refusal): TaskferryError => fail(r.code, r.message);

/** The read decision: null when `clientId` may read `blobId`, else the refusal. */
export type Authorize = (clientId: string, blobId: string) => Promise<Refusal | null>;

function checkId(id: string) {
  if (!isId(id, "blob")) throw fail("blob_not_found", "blob ids look like blob_<ULID>");
}

/** Blob uploads, downloads and lifetimes over one store. */
export class BlobService {
  readonly limits: BlobLimits;

  constructor(
    readonly store: BlobStore,
    limits: Partial<BlobLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_BLOB_LIMITS, ...limits };
  }

  /**
   * Stores chunk `index` of `blobId` for `clientId`, creating the blob on its first chunk with
   * the declared plaintext `size`. `read(n)` reads the request body, refusing more than `n`
   * bytes with `body_too_large`. Checks, cheapest first, so a refusal stores nothing: size limit, owner and state,
   * chunk index, quota (before the body is read), then the body's exact length.
   */
  async putChunk(
    clientId: string,
    blobId: string,
    size: number,
    index: number,
    read: (limit: number) => Promise<Uint8Array>,
  ): Promise<{ stored: boolean; blob: BlobRecord }> {
    checkId(blobId);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw fail("blob_chunk_invalid", "declare the file's plaintext size as a whole number");
    }
    if (size > this.limits.maxFileBytes) {
      throw fail("blob_too_large", `files are limited to ${this.limits.maxFileBytes} bytes`);
    }
    const now = this.now();
    const chunkSize = this.limits.chunkSize;
    let blob = await this.store.get(blobId);
    const planned: BlobRecord = blob ?? {
      id: blobId,
      owner: clientId,
      size,
      chunk_size: chunkSize,
      chunks: blobChunkCount(size, chunkSize),
      stored_bytes: sealedBlobSize(size, chunkSize),
      created_at: now,
      finalized_at: null,
      expires_at: now + this.limits.uploadTtlMs,
    };
    this.checkWrite(clientId, planned, size);
    const expected = sealedChunkSize(planned, index);
    if (expected === null) {
      throw fail("blob_chunk_invalid", `${blobId} has chunks 0-${planned.chunks - 1}`);
    }
    if (!blob) {
      const usage = await this.store.usage(clientId);
      if (usage.bytes + planned.stored_bytes > this.limits.quotaBytes) throw this.quotaError(usage);
    }
    const wrongLength = () =>
      fail("blob_chunk_invalid", `chunk ${index} must be ${expected} sealed bytes`);
    const sealed = await read(expected).catch((err) => {
      throw (err as TaskferryError).code === "body_too_large" ? wrongLength() : err;
    });
    if (sealed.length !== expected) throw wrongLength();
    if (!blob) {
      // Atomic with the quota (another upload of this client may have raced the check above).
      const created = await this.store.create(planned, this.limits.quotaBytes);
      if (created === "quota_exceeded") throw this.quotaError(await this.store.usage(clientId));
      blob = created;
      this.checkWrite(clientId, blob, size);
    }
    return { stored: await this.store.putChunk(blobId, index, sealed), blob };
  }

  private checkWrite(clientId: string, blob: BlobRecord, size: number) {
    const refusal = writeRefusal(clientId, blob);
    if (refusal) throw refuse(refusal);
    if (blob.size !== size) {
      throw fail("blob_chunk_invalid", `${blob.id} was started with size ${blob.size}`);
    }
  }

  private quotaError(usage: BlobUsage): TaskferryError {
    return fail(
      "quota_exceeded",
      `this client stores ${usage.bytes} of ${this.limits.quotaBytes} bytes; the upload would ` +
        "exceed it (blobs are removed once fetched or expired)",
    );
  }

  /** Marks the owner's complete blob final (idempotent); `blob_incomplete` lists what is missing. */
  async finalize(clientId: string, blobId: string): Promise<BlobStatus> {
    checkId(blobId);
    const blob = await this.store.get(blobId);
    if (!blob) throw fail("blob_not_found", "upload a chunk first");
    if (blob.owner !== clientId) throw refuse(writeRefusal(clientId, blob)!);
    if (blob.finalized_at === null) {
      const missing = missingOf(blob, await this.store.chunkIndexes(blobId));
      if (missing.length) {
        throw fail("blob_incomplete", `${missing.length} chunks missing`, {
          missing: missing.slice(0, 100),
        });
      }
      const now = this.now();
      await this.store.finalize(
        blobId,
        now,
        Math.max(blob.expires_at, now + this.limits.uploadTtlMs),
      );
    }
    return await this.status(clientId, blobId);
  }

  /**
   * The blob's status for its owner (to resume) or a client `authorize` lets read it (to plan a
   * download; while the upload is unfinished too).
   */
  async status(
    clientId: string,
    blobId: string,
    authorize: Authorize = (c, b) => this.authorize(c, b),
  ): Promise<BlobStatus> {
    checkId(blobId);
    const blob = await this.store.get(blobId);
    if (!blob) throw fail("blob_not_found", "no such blob (or it has expired)");
    if (blob.owner !== clientId) {
      const refusal = await authorize(clientId, blobId);
      if (refusal && refusal.code !== "blob_incomplete") throw refuse(refusal);
    }
    const stored = await this.store.chunkIndexes(blobId);
    return {
      blob_id: blob.id,
      size: blob.size,
      chunk_size: blob.chunk_size,
      chunks: blob.chunks,
      stored,
      next_missing: missingOf(blob, stored)[0] ?? null,
      finalized: blob.finalized_at !== null,
      expires_at: new Date(blob.expires_at).toISOString(),
    };
  }

  /** The read rule over this store's facts: null when `clientId` may download `blobId`. */
  async authorize(clientId: string, blobId: string): Promise<Refusal | null> {
    if (!isId(blobId, "blob")) return { code: "blob_not_found", message: "not a blob id" };
    const blob = await this.store.get(blobId);
    return readRefusal({ clientId, blob, readers: blob ? await this.store.readers(blobId) : [] });
  }

  /**
   * Chunk `index` for a reader already authorized (route: `authorize`). Fetching the last chunk
   * counts as having fetched the blob; once every reader has, it is kept `graceMs` more.
   */
  async readChunk(clientId: string, blobId: string, index: number): Promise<Uint8Array> {
    checkId(blobId);
    const blob = await this.store.get(blobId);
    if (!blob || blob.finalized_at === null) throw fail("blob_not_found", "no such finished blob");
    if (sealedChunkSize(blob, index) === null) {
      throw fail("blob_chunk_invalid", `${blobId} has chunks 0-${blob.chunks - 1}`);
    }
    const bytes = await this.store.getChunk(blobId, index);
    if (!bytes) throw fail("blob_not_found", `chunk ${index} of ${blobId} is gone`);
    if (index === blob.chunks - 1) {
      const now = this.now();
      await this.store.markFetched(blobId, clientId, now);
      const readers = await this.store.readers(blobId);
      if (readers.length && readers.every((r) => r.fetched_at !== null)) {
        await this.store.setExpiry(blobId, Math.min(blob.expires_at, now + this.limits.graceMs));
      }
    }
    return bytes;
  }

  /**
   * Checks that the sender's client may name these blobs in an envelope (uploaded by it and
   * finalized), then lets `readerClients` (the envelope's recipients' clients) download them
   * and keeps each for the envelope's retention. Call it on accept, after the envelope's other
   * checks; it throws the first refusal and grants nothing then.
   */
  async grant(senderClient: string, blobIds: string[], readerClients: string[]): Promise<void> {
    const blobs: BlobRecord[] = [];
    for (const id of blobIds) {
      const blob = isId(id, "blob") ? await this.store.get(id) : null;
      const refusal = referenceRefusal(senderClient, blob);
      if (refusal) throw refuse(refusal);
      blobs.push(blob!);
    }
    const keepUntil = this.now() + this.limits.retentionMs;
    for (const blob of blobs) {
      await this.store.addReaders(blob.id, readerClients);
      await this.store.setExpiry(blob.id, Math.max(blob.expires_at, keepUntil));
    }
  }

  /** Deletes every expired blob (unfinished, unreferenced, retention over, or fetched + grace). */
  async sweep(limit = 1000): Promise<number> {
    const ids = await this.store.expired(this.now(), limit);
    for (const id of ids) await this.store.delete(id);
    return ids.length;
  }

  /** What `clientId` stores now. */
  usage(clientId: string): Promise<BlobUsage> {
    return this.store.usage(clientId);
  }
}

function missingOf(blob: BlobRecord, stored: number[]): number[] {
  const have = new Set(stored);
  const missing: number[] = [];
  for (let i = 0; i < blob.chunks; i++) if (!have.has(i)) missing.push(i);
  return missing;
}
