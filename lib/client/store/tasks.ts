/**
 * The `tasks` table: each task's parties, snapshot, state and owner gate; and `task_progress`,
 * the bounded tail of each task's progress lines.
 */
import { TERMINAL_STATES } from "../../protocol/mod.ts";
import type { TaskProgressView } from "../../protocol/views.ts";
import { all, type DatabaseSync, get, type Migration, run } from "../../store/mod.ts";

/** The terminal states as an SQL list (constants from the protocol, never user input). */
const TERMINAL_SQL = TERMINAL_STATES.map((s) => `'${s}'`).join(", ");

/**
 * Leases of offered tasks (issue 17, design §13), on the requester's daemon: how long the
 * assigned worker may stay silent, and until when its lease runs (null: no lease running).
 */
export const TASK_LEASES_MIGRATION: Migration = {
  version: 9,
  name: "task leases (issue 17)",
  sql: `
    ALTER TABLE tasks ADD COLUMN lease_seconds INTEGER;
    ALTER TABLE tasks ADD COLUMN lease_until TEXT;
  `,
};

/** A task row. */
export interface TaskRow {
  id: string;
  requester: string;
  worker: string;
  title: string;
  instructions: string;
  inputs: string | null;
  deadline: string | null;
  max_revisions: number;
  state: string;
  snapshot: string;
  gate: "none" | "pending" | "approved" | "rejected";
  created_at: string;
  updated_at: string;
  /** An offer's lease length (requester's daemon; null: no lease). */
  lease_seconds?: number | null;
  /** When the assigned worker's lease lapses (null: none running). */
  lease_until?: string | null;
}

/**
 * Progress lines kept per task: enough for a live pane and a late reader, bounded so a long
 * run's stream costs a fixed amount of disk (8000 characters × 200 at most).
 */
export const PROGRESS_KEEP = 200;

/** A stored progress line. */
interface ProgressRow {
  message_id: string;
  sender: string;
  text: string;
  queue_position: number | null;
  at: string;
}

function progressView(r: ProgressRow): TaskProgressView {
  const view: TaskProgressView = {
    message_id: r.message_id,
    from: r.sender,
    text: r.text,
    at: r.at,
  };
  if (r.queue_position !== null) view.queue_position = r.queue_position;
  return view;
}

/** The `tasks` table. */
export class TaskTable {
  constructor(private readonly db: DatabaseSync) {}

  /** Task `id`, if this daemon knows it. */
  get(id: string): TaskRow | undefined {
    return get<TaskRow>(this.db, "SELECT * FROM tasks WHERE id = ?", id);
  }

  /** Adds a task (created_at = updated_at = `row.created_at`). */
  insert(row: Omit<TaskRow, "updated_at">) {
    run(
      this.db,
      `INSERT INTO tasks (id, requester, worker, title, instructions, inputs, deadline, max_revisions, state,
         snapshot, gate, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      row.id,
      row.requester,
      row.worker,
      row.title,
      row.instructions,
      row.inputs,
      row.deadline,
      row.max_revisions,
      row.state,
      row.snapshot,
      row.gate,
      row.created_at,
      row.created_at,
    );
  }

  /** Stores a new snapshot (and its state). */
  saveSnapshot(id: string, state: string, snapshot: string, at: string) {
    run(
      this.db,
      "UPDATE tasks SET state = ?, snapshot = ?, updated_at = ? WHERE id = ?",
      state,
      snapshot,
      at,
      id,
    );
  }

  /** Names the worker of an offered task (the requester's daemon, on assignment). */
  setWorker(id: string, worker: string) {
    run(this.db, "UPDATE tasks SET worker = ? WHERE id = ?", worker, id);
  }

  /** Sets an offer's lease length, and when the running lease lapses (null: none runs). */
  setLease(id: string, seconds: number | null, until: string | null) {
    run(
      this.db,
      "UPDATE tasks SET lease_seconds = ?, lease_until = ? WHERE id = ?",
      seconds,
      until,
      id,
    );
  }

  /** Tasks whose running lease lapsed before `at`. */
  leasesBefore(at: string): TaskRow[] {
    return all<TaskRow>(
      this.db,
      "SELECT * FROM tasks WHERE lease_until IS NOT NULL AND lease_until < ?",
      at,
    );
  }

  /** Sets the owner gate (`at` given: the owner decided, so the task changed). */
  setGate(id: string, gate: TaskRow["gate"], at?: string) {
    if (at === undefined) run(this.db, "UPDATE tasks SET gate = ? WHERE id = ?", gate, id);
    else run(this.db, "UPDATE tasks SET gate = ?, updated_at = ? WHERE id = ?", gate, at, id);
  }

  /**
   * The newest 500 tasks matching the filter. With `agent`, a task held at the owner's gate
   * stays invisible to its worker until the owner approves it.
   */
  list(filter: { agent?: string | undefined; state?: string | undefined }): TaskRow[] {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.agent) {
      where.push("(requester = ? OR worker = ?)");
      params.push(filter.agent, filter.agent);
    }
    if (filter.state) {
      where.push("state = ?");
      params.push(filter.state);
    }
    if (filter.agent) {
      where.push("NOT (worker = ? AND gate IN ('pending', 'rejected'))");
      params.push(filter.agent);
    }
    const sql = `SELECT * FROM tasks ${where.length ? "WHERE " + where.join(" AND ") : ""}
      ORDER BY created_at DESC LIMIT 500`;
    return all<TaskRow>(this.db, sql, ...params);
  }

  /** Tasks whose deadline is before `at` (terminal ones included; the caller skips them). */
  deadlineBefore(at: string): TaskRow[] {
    return all<TaskRow>(
      this.db,
      "SELECT * FROM tasks WHERE deadline IS NOT NULL AND deadline < ?",
      at,
    );
  }

  /** Tasks not in a terminal state. */
  countOpen(): number {
    return get<{ n: number }>(
      this.db,
      `SELECT count(*) AS n FROM tasks WHERE state NOT IN (${TERMINAL_SQL})`,
    )?.n ?? 0;
  }

  /** Tasks waiting at the owner's gate. */
  countGated(): number {
    return get<{ n: number }>(this.db, "SELECT count(*) AS n FROM tasks WHERE gate = 'pending'")
      ?.n ?? 0;
  }

  /**
   * Keeps a progress line (false when this message id is already kept: a redelivery, or the
   * second application when both parties live on this daemon), then prunes the task's tail.
   */
  addProgress(
    taskId: string,
    p: { message_id: string; from: string; text: string; queue_position?: number; at: string },
  ): boolean {
    const added = run(
      this.db,
      `INSERT OR IGNORE INTO task_progress (task_id, message_id, sender, text, queue_position, at)
        VALUES (?, ?, ?, ?, ?, ?)`,
      taskId,
      p.message_id,
      p.from,
      p.text,
      p.queue_position ?? null,
      p.at,
    ).changes > 0;
    if (added) this.pruneProgress(taskId);
    return added;
  }

  /**
   * Drops the task's lines beyond the newest {@link PROGRESS_KEEP}, with their envelopes in the
   * message log and their sent outbox rows, so a long run's whole footprint stays bounded. An
   * envelope still waiting for the relay keeps its rows (the link sends from them); inbound
   * dedup cannot miss a dropped one (the relay redelivers only unacknowledged envelopes, and
   * these were acknowledged {@link PROGRESS_KEEP} lines ago).
   */
  private pruneProgress(taskId: string) {
    const cutoff = get<{ seq: number }>(
      this.db,
      "SELECT seq FROM task_progress WHERE task_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
      taskId,
      PROGRESS_KEEP,
    )?.seq;
    if (cutoff === undefined) return;
    const dropped = "SELECT message_id FROM task_progress WHERE task_id = ? AND seq <= ?";
    run(
      this.db,
      `DELETE FROM messages WHERE type = 'task_progress' AND id IN (${dropped})
        AND id NOT IN (SELECT id FROM outbox WHERE state = 'pending')`,
      taskId,
      cutoff,
    );
    run(
      this.db,
      `DELETE FROM outbox WHERE state <> 'pending' AND id IN (${dropped})`,
      taskId,
      cutoff,
    );
    run(this.db, "DELETE FROM task_progress WHERE task_id = ? AND seq <= ?", taskId, cutoff);
  }

  /** The task's latest `limit` progress lines, oldest first. */
  progress(taskId: string, limit = PROGRESS_KEEP): TaskProgressView[] {
    return all<ProgressRow>(
      this.db,
      `SELECT message_id, sender, text, queue_position, at FROM task_progress
        WHERE task_id = ? ORDER BY seq DESC LIMIT ?`,
      taskId,
      limit,
    ).reverse().map(progressView);
  }

  /** Forgets a progress line the relay refused (it never reached the requester). */
  deleteProgress(messageId: string) {
    run(this.db, "DELETE FROM task_progress WHERE message_id = ?", messageId);
  }
}
