/** The `outbox` table: sealed envelopes waiting for the relay's answer, in send order. */
import { all, type DatabaseSync, get, run } from "../../store/mod.ts";

/** An outbox row to send. */
export interface OutboxItem {
  seq: number;
  id: string;
  envelope: string;
}

/** The `outbox` table: sealed envelopes waiting for the relay's answer, in send order. */
export class OutboxTable {
  constructor(private readonly db: DatabaseSync) {}

  /** Queues a sealed envelope; returns the row's `seq` (its place in send order). */
  insert(id: string, envelope: string, at: string): number {
    return Number(
      run(
        this.db,
        "INSERT INTO outbox (id, envelope, created_at) VALUES (?, ?, ?)",
        id,
        envelope,
        at,
      ).lastInsertRowid,
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
