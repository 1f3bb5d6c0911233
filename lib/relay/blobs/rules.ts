/**
 * The relay's blob rules as pure functions over facts (design §12): chunk geometry, who may
 * write, who may read, which blobs an envelope may name. BlobService applies them to what a
 * BlobStore holds; the relay's accept path can apply them to the facts it has at hand. Each
 * refusal is a stable code from the one catalogue.
 */
import {
  BLOB_CHUNK_SIZE,
  BLOB_TAG_SIZE,
  blobChunkCount,
  type ErrorCode,
} from "../../protocol/mod.ts";
import type { BlobReader, BlobRecord } from "./store.ts";

/** A refusal: a catalogue code and a message that says how to fix it. */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

/** The sealed size of chunk `index` of a blob, or null when the blob has no such chunk. */
export function sealedChunkSize(
  blob: Pick<BlobRecord, "size" | "chunk_size" | "chunks">,
  index: number,
): number | null {
  if (!Number.isSafeInteger(index) || index < 0 || index >= blob.chunks) return null;
  const plain = index < blob.chunks - 1
    ? blob.chunk_size
    : blob.size - (blob.chunks - 1) * blob.chunk_size;
  return plain + BLOB_TAG_SIZE;
}

/** The sealed bytes of a whole blob of `size` plaintext bytes: each chunk adds its tag. */
export function sealedBlobSize(size: number, chunkSize: number): number {
  return size + blobChunkCount(size, chunkSize) * BLOB_TAG_SIZE;
}

/** Who may write: only the client that created the blob, and only until it is finalized. */
export function writeRefusal(clientId: string, blob: BlobRecord): Refusal | null {
  if (blob.owner !== clientId) {
    return { code: "blob_access_denied", message: `${blob.id} belongs to another client` };
  }
  if (blob.finalized_at !== null) {
    return { code: "blob_finalized", message: `${blob.id} is finalized; upload a new blob` };
  }
  return null;
}

/** The facts that decide whether a client may read a blob. */
export interface ReadFacts {
  clientId: string;
  blob: BlobRecord | null;
  /** The recipients' clients of accepted envelopes that name the blob (BlobService.grant). */
  readers: readonly Pick<BlobReader, "client_id">[];
}

/**
 * Who may read a blob's chunks: a client that received an accepted envelope naming it, once
 * the blob is complete. The uploader reads only the status (for resume), never the chunks:
 * a sender has the file already, and nobody else gains ciphertext from naming its id.
 */
export function readRefusal(facts: ReadFacts): Refusal | null {
  const { blob, clientId } = facts;
  if (!blob) return { code: "blob_not_found", message: "no such blob (or it has expired)" };
  if (!facts.readers.some((r) => r.client_id === clientId)) {
    return {
      code: "blob_access_denied",
      message: `no accepted envelope addressed to client ${clientId} names ${blob.id}`,
    };
  }
  if (blob.finalized_at === null) {
    return { code: "blob_incomplete", message: `${blob.id} is still being uploaded` };
  }
  return null;
}

/**
 * Which blobs an envelope may name in its header `blobs` (checked when the relay accepts it):
 * blobs its sender's client uploaded and finalized. Naming another client's blob would hand its
 * ciphertext to the envelope's recipients; naming an unfinished one would promise a file the
 * recipients cannot fetch yet.
 */
export function referenceRefusal(senderClient: string, blob: BlobRecord | null): Refusal | null {
  if (!blob) {
    return { code: "blob_not_found", message: "upload and finalize the blob before sending" };
  }
  if (blob.owner !== senderClient) {
    return { code: "blob_access_denied", message: `${blob.id} was uploaded by another client` };
  }
  if (blob.finalized_at === null) {
    return { code: "blob_incomplete", message: `finalize ${blob.id} before sending` };
  }
  return null;
}

/** Relay limits and lifetimes of blobs (resolved from flags, env and file by the CLI). */
export interface BlobLimits {
  /** Largest file (plaintext bytes) one blob may hold. */
  maxFileBytes: number;
  /** Sealed bytes one client may keep on the relay at once, uploads in progress included. */
  quotaBytes: number;
  /** Plaintext bytes per chunk; protocol v1 fixes 1 MiB (tests use less). */
  chunkSize: number;
  /** How long an upload may stay unfinished, or finished but named by no envelope. */
  uploadTtlMs: number;
  /** How long a blob named by an accepted envelope is kept (the envelope's retention). */
  retentionMs: number;
  /** How long a blob stays after every reader fetched it (their resumes and retries). */
  graceMs: number;
}

const GIB = 1024 ** 3;
const DAY = 86_400_000;

/** Defaults: 2 GiB files and quota, 1 MiB chunks, a day to upload, a week's retention. */
export const DEFAULT_BLOB_LIMITS: BlobLimits = {
  maxFileBytes: 2 * GIB,
  quotaBytes: 2 * GIB,
  chunkSize: BLOB_CHUNK_SIZE,
  uploadTtlMs: DAY,
  retentionMs: 7 * DAY,
  graceMs: DAY,
};

/** A blob row as either store reads it (SQLite or PostgreSQL types) as a record. */
export function toRecord(r: Record<string, unknown>): BlobRecord {
  return {
    id: String(r.id),
    owner: String(r.owner),
    size: Number(r.size),
    chunk_size: Number(r.chunk_size),
    chunks: Number(r.chunks),
    stored_bytes: Number(r.stored_bytes),
    created_at: Number(r.created_at),
    finalized_at: r.finalized_at === null ? null : Number(r.finalized_at),
    expires_at: Number(r.expires_at),
  };
}
