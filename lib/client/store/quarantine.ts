/**
 * The `quarantine` table: envelopes held for the owner (changed keys, forgeries), kept as
 * bounded metadata plus a bounded copy of the raw envelope, within a total size cap. The bounds
 * themselves are decided in lib/client/quarantine.ts; this file only stores and evicts.
 */
import { all, type DatabaseSync, get, run } from "../../store/mod.ts";

/** A quarantined item as listed: metadata only (no envelope, nothing to parse). */
export interface QuarantineMeta {
  seq: number;
  id: string;
  from_handle: string;
  reason: string;
  type: string | null;
  /** Bytes of the raw envelope as received. */
  size: number;
  /** 1: `envelope` is the whole raw envelope; 0: only its first bytes. */
  complete: number;
  presented_key: string | null;
  created_at: string;
}

/** A quarantined item with its stored envelope (whole or a prefix, see `complete`). */
export interface QuarantineRow extends QuarantineMeta {
  envelope: string;
}

/** What an insert writes (`stored_bytes` is what the item counts against the cap). */
export type NewQuarantineRow = Omit<QuarantineRow, "seq"> & { stored_bytes: number };

const META = "seq, id, from_handle, reason, type, size, complete, presented_key, created_at";

/** Rejected ids remembered so a redelivery is not held again; the oldest are forgotten. */
const MAX_REJECTED_IDS = 10_000;

/** The `quarantine` table: envelopes held for the owner. */
export class QuarantineTable {
  constructor(private readonly db: DatabaseSync) {}

  /**
   * Holds an item (once per id); past `maxBytes`, evicts down to 15/16 of it: items that can
   * never be accepted (not `key_changed`, or kept incomplete) first, oldest first, then the
   * oldest `key_changed` ones. Returns how many items were evicted.
   */
  insert(row: NewQuarantineRow, maxBytes: number): number {
    run(
      this.db,
      `INSERT INTO quarantine (id, from_handle, reason, type, size, complete, envelope,
         presented_key, stored_bytes, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      row.id,
      row.from_handle,
      row.reason,
      row.type,
      row.size,
      row.complete,
      row.envelope,
      row.presented_key,
      row.stored_bytes,
      row.created_at,
    );
    const total = this.totalBytes();
    if (total <= maxBytes) return 0;
    // Down to 15/16 of the cap, so a flood pays for the eviction scan once per many inserts.
    let over = total - maxBytes + Math.floor(maxBytes / 16);
    let evicted = 0;
    while (over > 0) {
      const victims = all<{ seq: number; stored_bytes: number }>(
        this.db,
        `SELECT seq, stored_bytes FROM quarantine
         ORDER BY (reason = 'key_changed' AND complete = 1), seq LIMIT 512`,
      );
      if (victims.length === 0) break;
      for (const v of victims) {
        if (over <= 0) break;
        run(this.db, "DELETE FROM quarantine WHERE seq = ?", v.seq);
        over -= v.stored_bytes;
        evicted++;
      }
    }
    return evicted;
  }

  /** Bytes the held items count against the cap (a covering-index scan). */
  totalBytes(): number {
    return get<{ n: number }>(
      this.db,
      "SELECT coalesce(sum(stored_bytes), 0) AS n FROM quarantine",
    )?.n ?? 0;
  }

  /** Whether envelope `id` is held, or was rejected. */
  has(id: string): boolean {
    return get(
      this.db,
      "SELECT 1 FROM quarantine WHERE id = ? UNION ALL SELECT 1 FROM quarantine_rejected WHERE id = ?",
      id,
      id,
    ) !== undefined;
  }

  /** The held item `id`, with its stored envelope. */
  open(id: string): QuarantineRow | undefined {
    return get<QuarantineRow>(
      this.db,
      `SELECT ${META}, envelope FROM quarantine WHERE id = ?`,
      id,
    );
  }

  /** One page of held items, newest first, before `seq` `before` (metadata only). */
  page(limit: number, before?: number): QuarantineMeta[] {
    return all<QuarantineMeta>(
      this.db,
      `SELECT ${META} FROM quarantine ${before !== undefined ? "WHERE seq < ?" : ""}
       ORDER BY seq DESC LIMIT ?`,
      ...(before !== undefined ? [before, limit] : [limit]),
    );
  }

  /** Held `key_changed` items of one sender, oldest first. */
  heldForKeyChange(from: string): QuarantineRow[] {
    return all<QuarantineRow>(
      this.db,
      `SELECT ${META}, envelope FROM quarantine WHERE from_handle = ? AND reason = 'key_changed'
       ORDER BY seq`,
      from,
    );
  }

  /** Deletes an applied item (its envelope now lives in the message history). */
  remove(id: string) {
    run(this.db, "DELETE FROM quarantine WHERE id = ?", id);
  }

  /** Deletes a rejected item, remembering only its id (bounded) against redelivery. */
  reject(id: string, at: string) {
    run(this.db, "DELETE FROM quarantine WHERE id = ?", id);
    run(
      this.db,
      "INSERT INTO quarantine_rejected (id, at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
      id,
      at,
    );
    run(
      this.db,
      `DELETE FROM quarantine_rejected WHERE id IN (SELECT id FROM quarantine_rejected
       ORDER BY at DESC, rowid DESC LIMIT -1 OFFSET ?)`,
      MAX_REJECTED_IDS,
    );
  }

  /** Held items. */
  countOpen(): number {
    return get<{ n: number }>(this.db, "SELECT count(*) AS n FROM quarantine")?.n ?? 0;
  }
}
