/** The `quarantine`, `outbox` and `settings` tables: small tables with simple lifecycles. */
import { all, type DatabaseSync, get, run } from "../../store/mod.ts";

/** A quarantined envelope. */
export interface QuarantineRow {
  id: string;
  from_handle: string;
  reason: string;
  envelope: string;
  presented_key: string | null;
  created_at: string;
  resolution: string | null;
}

/** An outbox row to send. */
export interface OutboxItem {
  seq: number;
  id: string;
  envelope: string;
}

/** The `quarantine` table: envelopes held for the owner. */
export class QuarantineTable {
  constructor(private readonly db: DatabaseSync) {}

  /** Holds an envelope (once per id). */
  insert(row: Omit<QuarantineRow, "resolution">) {
    run(
      this.db,
      `INSERT INTO quarantine (id, from_handle, reason, envelope, presented_key, created_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      row.id,
      row.from_handle,
      row.reason,
      row.envelope,
      row.presented_key,
      row.created_at,
    );
  }

  /** Whether envelope `id` is (or was) held. */
  has(id: string): boolean {
    return get(this.db, "SELECT 1 FROM quarantine WHERE id = ?", id) !== undefined;
  }

  /** The unresolved item `id`. */
  open(id: string): QuarantineRow | undefined {
    return get<QuarantineRow>(
      this.db,
      "SELECT * FROM quarantine WHERE id = ? AND resolution IS NULL",
      id,
    );
  }

  /** Every unresolved item, oldest first. */
  listOpen(): QuarantineRow[] {
    return all<QuarantineRow>(
      this.db,
      "SELECT * FROM quarantine WHERE resolution IS NULL ORDER BY created_at",
    );
  }

  /** Unresolved `key_changed` items of one sender, oldest first. */
  heldForKeyChange(from: string): QuarantineRow[] {
    return all<QuarantineRow>(
      this.db,
      "SELECT * FROM quarantine WHERE from_handle = ? AND reason = 'key_changed' AND resolution IS NULL ORDER BY created_at",
      from,
    );
  }

  /** Records the owner's decision. */
  resolve(id: string, resolution: "accepted" | "rejected") {
    run(this.db, "UPDATE quarantine SET resolution = ? WHERE id = ?", resolution, id);
  }

  /** Unresolved items. */
  countOpen(): number {
    return get<{ n: number }>(
      this.db,
      "SELECT count(*) AS n FROM quarantine WHERE resolution IS NULL",
    )?.n ?? 0;
  }
}

/** The `outbox` table: sealed envelopes waiting for the relay's answer, in send order. */
export class OutboxTable {
  constructor(private readonly db: DatabaseSync) {}

  /** Queues a sealed envelope. */
  insert(id: string, envelope: string, at: string) {
    run(
      this.db,
      "INSERT INTO outbox (id, envelope, created_at) VALUES (?, ?, ?)",
      id,
      envelope,
      at,
    );
  }

  /** The relay accepted `id`. */
  markAccepted(id: string) {
    run(this.db, "UPDATE outbox SET state = 'accepted' WHERE id = ?", id);
  }

  /** The relay refused `id` for good. */
  markFailed(id: string, code: string) {
    run(this.db, "UPDATE outbox SET state = 'failed', error_code = ? WHERE id = ?", code, id);
  }

  /** Pending rows after `after`, in order. */
  pending(after: number, limit: number): OutboxItem[] {
    return all<OutboxItem>(
      this.db,
      "SELECT seq, id, envelope FROM outbox WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT ?",
      after,
      limit,
    );
  }

  /** Pending rows. */
  countPending(): number {
    return get<{ n: number }>(this.db, "SELECT count(*) AS n FROM outbox WHERE state = 'pending'")
      ?.n ?? 0;
  }
}

/** The `settings` table: small key/value facts about this installation. */
export class SettingsTable {
  constructor(private readonly db: DatabaseSync) {}

  /** The value of `key`, or null. */
  get(key: string): string | null {
    return get<{ value: string }>(this.db, "SELECT value FROM settings WHERE key = ?", key)
      ?.value ?? null;
  }

  /** Sets `key`. */
  set(key: string, value: string) {
    run(
      this.db,
      "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }
}
