/** The `artifacts` table: the versions submitted for each task. */
import { all, type DatabaseSync, get, run } from "../../store/mod.ts";

/** An artifact row. */
export interface ArtifactRow {
  version: number;
  content: string;
  content_type: string;
  name: string | null;
  note: string | null;
  message_id: string;
  created_at: string;
}

/** The `artifacts` table. */
export class ArtifactTable {
  constructor(private readonly db: DatabaseSync) {}

  /** Adds a version (idempotent). */
  insert(taskId: string, a: ArtifactRow) {
    run(
      this.db,
      `INSERT INTO artifacts (task_id, version, content, content_type, name, note, message_id, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      taskId,
      a.version,
      a.content,
      a.content_type,
      a.name,
      a.note,
      a.message_id,
      a.created_at,
    );
  }

  /** Every version of a task, in order. */
  list(taskId: string): ArtifactRow[] {
    return all<ArtifactRow>(
      this.db,
      "SELECT version, content, content_type, name, note, message_id, created_at FROM artifacts WHERE task_id = ? ORDER BY version",
      taskId,
    );
  }

  /** One version. */
  get(taskId: string, version: number): ArtifactRow | undefined {
    return get<ArtifactRow>(
      this.db,
      "SELECT version, content, content_type, name, note, message_id, created_at FROM artifacts WHERE task_id = ? AND version = ?",
      taskId,
      version,
    );
  }

  /** Removes the version carried by a refused message. */
  deleteByMessage(taskId: string, messageId: string) {
    run(this.db, "DELETE FROM artifacts WHERE task_id = ? AND message_id = ?", taskId, messageId);
  }
}
