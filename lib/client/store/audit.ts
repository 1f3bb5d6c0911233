/** The `task_events` table: the append-only, hash-chained audit log of every task. */
import { all, type DatabaseSync, get, run } from "../../store/mod.ts";

/** One audit event as stored (`data` is JSON). */
export interface TaskEventRow {
  seq: number;
  task_id: string;
  event_id: string;
  type: string;
  actor: string;
  at: string;
  data: string;
  prev_hash: string;
  hash: string;
}

/** A timeline row: an event with the delivery state of the message that carried it. */
export type TimelineRow = Omit<TaskEventRow, "task_id"> & { delivery_state: string | null };

/** The `task_events` table. Hashing is the audit chain's job (tasks/audit.ts), not this one's. */
export class AuditTable {
  constructor(private readonly db: DatabaseSync) {}

  /** The hash of a task's latest event ("" before the first). */
  lastHash(taskId: string): string {
    return get<{ hash: string }>(
      this.db,
      "SELECT hash FROM task_events WHERE task_id = ? ORDER BY seq DESC LIMIT 1",
      taskId,
    )?.hash ?? "";
  }

  /** Appends an event (idempotent by task, event id and type). */
  append(e: Omit<TaskEventRow, "seq">) {
    run(
      this.db,
      `INSERT INTO task_events (task_id, event_id, type, actor, at, data, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      e.task_id,
      e.event_id,
      e.type,
      e.actor,
      e.at,
      e.data,
      e.prev_hash,
      e.hash,
    );
  }

  /** The task event a message of ours carried (not its `send_failed` note). */
  carriedBy(messageId: string): { task_id: string; type: string; actor: string } | undefined {
    return get<{ task_id: string; type: string; actor: string }>(
      this.db,
      "SELECT task_id, type, actor FROM task_events WHERE event_id = ? AND type != 'send_failed'",
      messageId,
    );
  }

  /** `data` of a task's `send_failed` events. */
  sendFailures(taskId: string): string[] {
    return all<{ data: string }>(
      this.db,
      "SELECT data FROM task_events WHERE task_id = ? AND type = 'send_failed'",
      taskId,
    ).map((r) => r.data);
  }

  /** A task's state-machine events in order (no refusals, gate decisions or expiry). */
  replayable(taskId: string): Omit<TaskEventRow, "seq" | "task_id" | "prev_hash" | "hash">[] {
    return all(
      this.db,
      "SELECT event_id, type, actor, at, data FROM task_events WHERE task_id = ? AND type NOT IN ('send_failed', 'gate', 'expire') ORDER BY seq",
      taskId,
    );
  }

  /** A task's events in order, each with its carrying message's delivery state. */
  timeline(taskId: string): TimelineRow[] {
    return all<TimelineRow>(
      this.db,
      `SELECT e.seq, e.event_id, e.type, e.actor, e.at, e.data, e.hash, e.prev_hash,
         m.state AS delivery_state
       FROM task_events e LEFT JOIN messages m ON m.id = e.event_id AND m.agent = e.actor
       WHERE e.task_id = ? ORDER BY e.seq`,
      taskId,
    );
  }

  /** Every event (optionally of one task), in order. */
  list(taskId?: string): TaskEventRow[] {
    return all<TaskEventRow>(
      this.db,
      `SELECT seq, task_id, event_id, type, actor, at, data, prev_hash, hash FROM task_events
       ${taskId ? "WHERE task_id = ?" : ""} ORDER BY seq`,
      ...(taskId ? [taskId] : []),
    );
  }
}
