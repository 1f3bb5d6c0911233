/** The `tasks` table: each task's parties, snapshot, state and owner gate. */
import { TERMINAL_STATES } from "../../protocol/mod.ts";
import { all, type DatabaseSync, get, run } from "../../store/mod.ts";

/** The terminal states as an SQL list (constants from the protocol, never user input). */
const TERMINAL_SQL = TERMINAL_STATES.map((s) => `'${s}'`).join(", ");

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
}
