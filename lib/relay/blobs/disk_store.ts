/**
 * The blob store of a single-node relay: each sealed chunk is a file under
 * `<relay home>/blobs/chunks/<blob id>/<index>`, and a small SQLite database next to them
 * (`blobs.db`, its own migrations, so the relay store's schema is untouched) records blobs,
 * stored chunks and readers. A chunk is written to a temporary file, synced and renamed before
 * its row is inserted, so a crash at any point leaves either no chunk or a whole one.
 */
import { join } from "node:path";
import { isId } from "../../protocol/mod.ts";
import { all, type DatabaseSync, get, type Migration, openDatabase, run } from "../../store/mod.ts";
import { transaction } from "../../store/mod.ts";
import type { BlobReader, BlobRecord, BlobStore, BlobUsage } from "./store.ts";
import { toRecord } from "./rules.ts";

/** The blob index schema, shared in shape with the PostgreSQL one (pg_store.ts). */
export const DISK_BLOB_MIGRATIONS: Migration[] = [{
  version: 1,
  name: "blob index",
  sql: `
    CREATE TABLE blobs (id TEXT PRIMARY KEY, owner TEXT NOT NULL, size INTEGER NOT NULL,
      chunk_size INTEGER NOT NULL, chunks INTEGER NOT NULL, stored_bytes INTEGER NOT NULL,
      created_at INTEGER NOT NULL, finalized_at INTEGER, expires_at INTEGER NOT NULL);
    CREATE INDEX blobs_owner ON blobs(owner);
    CREATE INDEX blobs_expires ON blobs(expires_at);
    CREATE TABLE blob_chunks (blob_id TEXT NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
      idx INTEGER NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (blob_id, idx));
    CREATE TABLE blob_readers (blob_id TEXT NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
      client_id TEXT NOT NULL, fetched_at INTEGER, PRIMARY KEY (blob_id, client_id));
  `,
}];

/** Refuses anything but a blob id before it becomes part of a path. */
function safeId(id: string): string {
  if (!isId(id, "blob")) throw new TypeError(`not a blob id: ${id}`);
  return id;
}

/** Chunk files on disk plus a SQLite index. */
export class DiskBlobStore implements BlobStore {
  private constructor(private readonly db: DatabaseSync, private readonly chunkDir: string) {}

  /** Opens (creating) the store in `dir`, e.g. `<relay home>/blobs`. */
  static async open(dir: string): Promise<DiskBlobStore> {
    await Deno.mkdir(join(dir, "chunks"), { recursive: true, mode: 0o700 });
    return new DiskBlobStore(openDatabase(join(dir, "blobs.db"), DISK_BLOB_MIGRATIONS), dir);
  }

  private pathOf(id: string, index?: number): string {
    const dir = join(this.chunkDir, "chunks", safeId(id));
    return index === undefined ? dir : join(dir, String(index));
  }

  create(record: BlobRecord, quotaBytes: number): Promise<BlobRecord | "quota_exceeded"> {
    safeId(record.id);
    return Promise.resolve(transaction(this.db, () => {
      const existing = get(this.db, "SELECT * FROM blobs WHERE id = ?", record.id);
      if (existing) return toRecord(existing);
      const used = get<{ n: number }>(
        this.db,
        "SELECT coalesce(sum(stored_bytes), 0) AS n FROM blobs WHERE owner = ?",
        record.owner,
      )!.n;
      if (used + record.stored_bytes > quotaBytes) return "quota_exceeded" as const;
      run(
        this.db,
        `INSERT INTO blobs (id, owner, size, chunk_size, chunks, stored_bytes, created_at,
          finalized_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        record.id,
        record.owner,
        record.size,
        record.chunk_size,
        record.chunks,
        record.stored_bytes,
        record.created_at,
        record.finalized_at,
        record.expires_at,
      );
      return record;
    }));
  }

  get(id: string): Promise<BlobRecord | null> {
    const row = get(this.db, "SELECT * FROM blobs WHERE id = ?", id);
    return Promise.resolve(row ? toRecord(row) : null);
  }

  async putChunk(id: string, index: number, sealed: Uint8Array): Promise<boolean> {
    if (get(this.db, "SELECT 1 AS x FROM blob_chunks WHERE blob_id = ? AND idx = ?", id, index)) {
      return false;
    }
    const dir = this.pathOf(id);
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `${index}.tmp-${crypto.randomUUID()}`);
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
    try {
      for (let at = 0; at < sealed.length;) at += await file.write(sealed.subarray(at));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, this.pathOf(id, index));
    // The blob may have been deleted meanwhile (swept): then the row cannot reference it.
    try {
      return run(
        this.db,
        "INSERT OR IGNORE INTO blob_chunks (blob_id, idx, size) VALUES (?, ?, ?)",
        id,
        index,
        sealed.length,
      ).changes === 1;
    } catch (err) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw err;
    }
  }

  chunkIndexes(id: string): Promise<number[]> {
    const rows = all<{ idx: number }>(
      this.db,
      "SELECT idx FROM blob_chunks WHERE blob_id = ? ORDER BY idx",
      id,
    );
    return Promise.resolve(rows.map((r) => Number(r.idx)));
  }

  async getChunk(id: string, index: number): Promise<Uint8Array | null> {
    if (!get(this.db, "SELECT 1 AS x FROM blob_chunks WHERE blob_id = ? AND idx = ?", id, index)) {
      return null;
    }
    try {
      return await Deno.readFile(this.pathOf(id, index));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
  }

  finalize(id: string, now: number, expiresAt: number): Promise<void> {
    run(
      this.db,
      "UPDATE blobs SET finalized_at = coalesce(finalized_at, ?), expires_at = ? WHERE id = ?",
      now,
      expiresAt,
      id,
    );
    return Promise.resolve();
  }

  setExpiry(id: string, expiresAt: number): Promise<void> {
    run(this.db, "UPDATE blobs SET expires_at = ? WHERE id = ?", expiresAt, id);
    return Promise.resolve();
  }

  addReaders(id: string, clientIds: string[]): Promise<void> {
    transaction(this.db, () => {
      for (const c of clientIds) {
        run(
          this.db,
          "INSERT OR IGNORE INTO blob_readers (blob_id, client_id) VALUES (?, ?)",
          id,
          c,
        );
      }
    });
    return Promise.resolve();
  }

  readers(id: string): Promise<BlobReader[]> {
    const rows = all<BlobReader>(
      this.db,
      "SELECT client_id, fetched_at FROM blob_readers WHERE blob_id = ? ORDER BY client_id",
      id,
    );
    return Promise.resolve(rows.map((r) => ({
      client_id: r.client_id,
      fetched_at: r.fetched_at === null ? null : Number(r.fetched_at),
    })));
  }

  markFetched(id: string, clientId: string, now: number): Promise<void> {
    run(
      this.db,
      `UPDATE blob_readers SET fetched_at = ? WHERE blob_id = ? AND client_id = ?
        AND fetched_at IS NULL`,
      now,
      id,
      clientId,
    );
    return Promise.resolve();
  }

  expired(now: number, limit: number): Promise<string[]> {
    const rows = all<{ id: string }>(
      this.db,
      "SELECT id FROM blobs WHERE expires_at <= ? ORDER BY expires_at LIMIT ?",
      now,
      limit,
    );
    return Promise.resolve(rows.map((r) => r.id));
  }

  async delete(id: string): Promise<void> {
    await Deno.remove(this.pathOf(id), { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    run(this.db, "DELETE FROM blobs WHERE id = ?", id);
  }

  usage(owner: string): Promise<BlobUsage> {
    const row = get<{ blobs: number; bytes: number }>(
      this.db,
      "SELECT count(*) AS blobs, coalesce(sum(stored_bytes), 0) AS bytes FROM blobs WHERE owner = ?",
      owner,
    )!;
    return Promise.resolve({ blobs: Number(row.blobs), bytes: Number(row.bytes) });
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}
