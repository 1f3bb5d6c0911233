/**
 * The blob store of a relay on PostgreSQL: sealed chunks in a chunk table (`bytea`), so every
 * node sharing the database serves every blob. Its tables have their own migration record
 * (`blob_schema_migrations`), so the relay store's schema and versions are untouched.
 */
import postgres from "postgres";
import { fail } from "../../protocol/mod.ts";
import type { BlobReader, BlobRecord, BlobStore, BlobUsage } from "./store.ts";
import { toRecord } from "./rules.ts";

/** The blob schema on PostgreSQL, in order (same shape as DISK_BLOB_MIGRATIONS plus `data`). */
export const PG_BLOB_MIGRATIONS: { version: number; name: string; sql: string }[] = [{
  version: 1,
  name: "blob chunks",
  sql: `
    CREATE TABLE blobs (id TEXT PRIMARY KEY, owner TEXT NOT NULL, size BIGINT NOT NULL,
      chunk_size INTEGER NOT NULL, chunks INTEGER NOT NULL, stored_bytes BIGINT NOT NULL,
      created_at BIGINT NOT NULL, finalized_at BIGINT, expires_at BIGINT NOT NULL);
    CREATE INDEX blobs_owner ON blobs(owner);
    CREATE INDEX blobs_expires ON blobs(expires_at);
    CREATE TABLE blob_chunks (blob_id TEXT NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
      idx INTEGER NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (blob_id, idx));
    ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
    CREATE TABLE blob_readers (blob_id TEXT NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
      client_id TEXT NOT NULL, fetched_at BIGINT, PRIMARY KEY (blob_id, client_id));
  `,
}];

/** Serializes blob migrations across nodes (distinct from the relay store's lock). */
const MIGRATION_LOCK = 7340016;

/** Chunks in a PostgreSQL table. */
export class PgBlobStore implements BlobStore {
  private constructor(private readonly sql: postgres.Sql) {}

  /** Connects and migrates; refuses a blob schema newer than this code (`database_too_new`). */
  static async open(url: string, opts: { max?: number } = {}): Promise<PgBlobStore> {
    const sql = postgres(url, { max: opts.max ?? 10, onnotice: () => {}, idle_timeout: 30 });
    try {
      await sql.begin(async (t) => {
        await t`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
        await t`CREATE TABLE IF NOT EXISTS blob_schema_migrations (version INTEGER PRIMARY KEY,
          name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`;
        const rows = await t`SELECT coalesce(max(version), 0) AS v FROM blob_schema_migrations`;
        const current = Number(rows[0]!.v);
        const latest = PG_BLOB_MIGRATIONS.at(-1)!.version;
        if (current > latest) {
          throw fail(
            "database_too_new",
            `the blob tables are at schema version ${current}; this TaskFerry knows up to ${latest}`,
          );
        }
        for (const m of PG_BLOB_MIGRATIONS) {
          if (m.version <= current) continue;
          await t.unsafe(m.sql);
          await t`INSERT INTO blob_schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
        }
      });
    } catch (err) {
      await sql.end({ timeout: 1 });
      throw err;
    }
    return new PgBlobStore(sql);
  }

  async create(record: BlobRecord, quotaBytes: number): Promise<BlobRecord | "quota_exceeded"> {
    return await this.sql.begin(async (t) => {
      // One quota decision per owner at a time, across every node.
      await t`SELECT pg_advisory_xact_lock(hashtext(${"blob-quota:" + record.owner}))`;
      const existing = await t`SELECT * FROM blobs WHERE id = ${record.id}`;
      if (existing.length) return toRecord(existing[0]!);
      const used = await t`SELECT coalesce(sum(stored_bytes), 0) AS n FROM blobs
        WHERE owner = ${record.owner}`;
      if (Number(used[0]!.n) + record.stored_bytes > quotaBytes) return "quota_exceeded" as const;
      await t`INSERT INTO blobs ${t(record)}`;
      return record;
    }) as BlobRecord | "quota_exceeded";
  }

  async get(id: string): Promise<BlobRecord | null> {
    const rows = await this.sql`SELECT * FROM blobs WHERE id = ${id}`;
    return rows.length ? toRecord(rows[0]!) : null;
  }

  async putChunk(id: string, index: number, sealed: Uint8Array): Promise<boolean> {
    const rows = await this.sql`INSERT INTO blob_chunks (blob_id, idx, data)
      VALUES (${id}, ${index}, ${sealed}) ON CONFLICT DO NOTHING RETURNING idx`;
    return rows.length === 1;
  }

  async chunkIndexes(id: string): Promise<number[]> {
    const rows = await this.sql`SELECT idx FROM blob_chunks WHERE blob_id = ${id} ORDER BY idx`;
    return rows.map((r) => Number(r.idx));
  }

  async getChunk(id: string, index: number): Promise<Uint8Array | null> {
    const rows = await this.sql`SELECT data FROM blob_chunks
      WHERE blob_id = ${id} AND idx = ${index}`;
    return rows.length ? new Uint8Array(rows[0]!.data as Uint8Array) : null;
  }

  async finalize(id: string, now: number, expiresAt: number): Promise<void> {
    await this.sql`UPDATE blobs SET finalized_at = coalesce(finalized_at, ${now}),
      expires_at = ${expiresAt} WHERE id = ${id}`;
  }

  async setExpiry(id: string, expiresAt: number): Promise<void> {
    await this.sql`UPDATE blobs SET expires_at = ${expiresAt} WHERE id = ${id}`;
  }

  async addReaders(id: string, clientIds: string[]): Promise<void> {
    if (!clientIds.length) return;
    const rows = clientIds.map((c) => ({ blob_id: id, client_id: c }));
    await this.sql`INSERT INTO blob_readers ${this.sql(rows)} ON CONFLICT DO NOTHING`;
  }

  async readers(id: string): Promise<BlobReader[]> {
    const rows = await this.sql`SELECT client_id, fetched_at FROM blob_readers
      WHERE blob_id = ${id} ORDER BY client_id`;
    return rows.map((r) => ({
      client_id: String(r.client_id),
      fetched_at: r.fetched_at === null ? null : Number(r.fetched_at),
    }));
  }

  async markFetched(id: string, clientId: string, now: number): Promise<void> {
    await this.sql`UPDATE blob_readers SET fetched_at = ${now}
      WHERE blob_id = ${id} AND client_id = ${clientId} AND fetched_at IS NULL`;
  }

  async expired(now: number, limit: number): Promise<string[]> {
    const rows = await this.sql`SELECT id FROM blobs WHERE expires_at <= ${now}
      ORDER BY expires_at LIMIT ${limit}`;
    return rows.map((r) => String(r.id));
  }

  async delete(id: string): Promise<void> {
    // Chunks first (a crash leaves the record, which the next sweep deletes again).
    await this.sql`DELETE FROM blob_chunks WHERE blob_id = ${id}`;
    await this.sql`DELETE FROM blobs WHERE id = ${id}`;
  }

  async usage(owner: string): Promise<BlobUsage> {
    const rows = await this.sql`SELECT count(*) AS blobs, coalesce(sum(stored_bytes), 0) AS bytes
      FROM blobs WHERE owner = ${owner}`;
    return { blobs: Number(rows[0]!.blobs), bytes: Number(rows[0]!.bytes) };
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}
