/**
 * A small per-task journal in the worker's state directory: what happened to each round, and
 * the agent CLI's session id. It lets a restarted worker tell "this round ran and its result is
 * saved, only the submit is missing" from "this round never finished" (run it again), and it
 * is written atomically (temporary file + rename) so a crash never leaves half a journal.
 * The daemon's artifact versions stay the authority on whether a round was submitted.
 */
import { join } from "node:path";

/** The state of one round. */
export type RoundState = "running" | "finished" | "submitted" | "failed" | "cancelled";

/** One round's record. */
export interface RoundRecord {
  revision: number;
  version: number;
  state: RoundState;
  /** Runs started for this round (more than 1 after a restart mid-run). */
  attempts: number;
  started_at: string;
  ended_at?: string;
  exit_code?: number | null;
  /** The child's pid (its process group id) while it runs. */
  pid?: number;
  /** The saved artifact content, relative to the task's state directory (state "finished"). */
  result_file?: string;
  /** The failure to send (state "finished" without a result file). */
  reason?: string;
  fail_code?: string;
}

/** The whole journal of a task. */
export interface JournalData {
  task_id: string;
  /** The agent CLI's session (Claude) or thread (Codex), resumed on revisions. */
  session_id?: string;
  rounds: Record<string, RoundRecord>;
}

/** A task's journal file. */
export class TaskJournal {
  private constructor(readonly path: string, readonly data: JournalData) {}

  /** Loads `dir/journal.json`, or starts an empty journal for `taskId`. */
  static load(dir: string, taskId: string): TaskJournal {
    const path = join(dir, "journal.json");
    try {
      const data = JSON.parse(Deno.readTextFileSync(path)) as JournalData;
      if (data.task_id === taskId && data.rounds && typeof data.rounds === "object") {
        return new TaskJournal(path, data);
      }
    } catch {
      // missing or unreadable: start afresh (the daemon's state still guards submits)
    }
    return new TaskJournal(path, { task_id: taskId, rounds: {} });
  }

  /** The record of round `revision`, if any. */
  round(revision: number): RoundRecord | undefined {
    return this.data.rounds[String(revision)];
  }

  /** Merges `patch` into round `revision` and saves. */
  update(revision: number, patch: Partial<RoundRecord> & { version: number }): RoundRecord {
    const prev = this.round(revision);
    const next: RoundRecord = {
      revision,
      state: "running",
      attempts: 0,
      started_at: new Date().toISOString(),
      ...prev,
      ...patch,
    };
    this.data.rounds[String(revision)] = next;
    this.save();
    return next;
  }

  /** Records the session to resume. */
  setSession(session: string): void {
    if (this.data.session_id === session) return;
    this.data.session_id = session;
    this.save();
  }

  private save() {
    const tmp = `${this.path}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(this.data, null, 2) + "\n", { mode: 0o600 });
    Deno.renameSync(tmp, this.path);
  }
}
