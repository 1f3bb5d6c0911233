/** The `quarantine` table: envelopes held for the owner (changed keys, forgeries). */
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
