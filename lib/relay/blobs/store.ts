/**
 * Where the relay keeps blobs (design §12): sealed chunks it cannot read, and the little it must
 * know about each blob to enforce the rules (rules.ts, service.ts). Two implementations: chunk
 * files on disk with a SQLite index (disk_store.ts, the single-node relay) and a chunk table in
 * PostgreSQL (pg_store.ts, so any node serves any blob). The stores only store; every decision
 * (who may write or read, limits, expiry) is made once, in BlobService.
 */

/** What the relay knows about one blob: never a name, a key or any plaintext. */
export interface BlobRecord {
  id: string;
  /** The relay client that uploads it; the only one that may write it. */
  owner: string;
  /** The plaintext size the uploader declared; fixes the chunk count and every chunk's size. */
  size: number;
  /** Plaintext bytes per chunk (protocol v1: 1 MiB). */
  chunk_size: number;
  /** Number of chunks: max(1, ceil(size / chunk_size)). */
  chunks: number;
  /** Sealed bytes the blob occupies once complete (counted against the owner's quota). */
  stored_bytes: number;
  created_at: number;
  /** When the last chunk arrived and the owner finalized it; null while uploading. */
  finalized_at: number | null;
  /** When the sweep deletes it (upload TTL, then retention, then fetched-plus-grace). */
  expires_at: number;
}

/** One client allowed to read a blob, and whether it has fetched it (its last chunk). */
export interface BlobReader {
  client_id: string;
  fetched_at: number | null;
}

/** A client's blob storage, for quotas and `taskferry relay` status. */
export interface BlobUsage {
  blobs: number;
  bytes: number;
}

/** Storage of blob records, readers and sealed chunks. Every method is idempotent. */
export interface BlobStore {
  /**
   * Creates `record` unless its id exists, atomically with the quota check: it is created only
   * when the owner's `stored_bytes` over all its blobs stay within `quotaBytes` (several relay
   * nodes may race). Returns the existing record, the new one, or "quota_exceeded".
   */
  create(record: BlobRecord, quotaBytes: number): Promise<BlobRecord | "quota_exceeded">;
  get(id: string): Promise<BlobRecord | null>;
  /** Stores chunk `index` durably; false when it was already stored (the bytes are ignored). */
  putChunk(id: string, index: number, sealed: Uint8Array): Promise<boolean>;
  /** The indexes of the stored chunks, ascending (for resume). */
  chunkIndexes(id: string): Promise<number[]>;
  /** The stored bytes of chunk `index`, or null. */
  getChunk(id: string, index: number): Promise<Uint8Array | null>;
  /** Marks the blob complete and sets its expiry. */
  finalize(id: string, now: number, expiresAt: number): Promise<void>;
  /** Sets the expiry (the rules decide whether it moves earlier or later). */
  setExpiry(id: string, expiresAt: number): Promise<void>;
  /** Adds readers (already present ones keep their state). */
  addReaders(id: string, clientIds: string[]): Promise<void>;
  readers(id: string): Promise<BlobReader[]>;
  /** Records that `clientId` fetched the blob (first time only). */
  markFetched(id: string, clientId: string, now: number): Promise<void>;
  /** Blob ids whose expiry is at or before `now`, oldest first. */
  expired(now: number, limit: number): Promise<string[]>;
  /** Deletes the blob, its readers and its chunks; chunks go first, so a crash leaves a record
   * the next sweep deletes again, never unaccounted bytes. */
  delete(id: string): Promise<void>;
  usage(owner: string): Promise<BlobUsage>;
  close(): Promise<void>;
}
