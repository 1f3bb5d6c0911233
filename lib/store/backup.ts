/**
 * Online backups and integrity checks of a TaskFerry SQLite database (issue 19 item 8). A backup
 * is `VACUUM INTO` from a separate read-only connection: in WAL mode that reads one consistent
 * snapshot while the daemon or relay keeps writing, and produces a compact, self-contained file
 * (no -wal to forget). It is written to a temporary name, checked, made private and only then
 * renamed into place, so a failed backup never leaves a plausible-looking file behind.
 */
import { DatabaseSync } from "node:sqlite";
import { dirname, join } from "node:path";
import { withPrivateUmask } from "./private.ts";

/** What a check of a database found. */
export interface DatabaseReport {
  /** `PRAGMA user_version`. */
  version: number;
  /** Problems from `PRAGMA quick_check` (empty when the database is sound). */
  problems: string[];
  bytes: number;
}

/**
 * Opens `path` read-only (so a running writer is undisturbed) and runs `quick_check`. Throws
 * with the path in the message when the file is missing or is not a database.
 */
export function inspectDatabase(path: string): DatabaseReport {
  const bytes = Deno.statSync(path).size;
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
  } catch (err) {
    throw new Error(`cannot open ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const version = Number(
      (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
    );
    const rows = db.prepare("PRAGMA quick_check").all() as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== "ok");
    return { version, problems, bytes };
  } catch (err) {
    return { version: -1, problems: [(err as Error).message], bytes };
  } finally {
    db.close();
  }
}

/**
 * Writes a consistent copy of the database at `source` to `dest` while it stays in use, and
 * returns the copy's report. Refuses to overwrite `dest`; throws (and leaves nothing at `dest`)
 * when the copy fails its integrity check.
 */
export function backupDatabase(source: string, dest: string): DatabaseReport {
  Deno.statSync(source); // a clear NotFound before SQLite's "unable to open"
  try {
    Deno.statSync(dest);
    throw new Error(`${dest} already exists; choose a new file name (backups never overwrite)`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const tmp = join(dirname(dest), `.${crypto.randomUUID()}.taskferry-backup`);
  try {
    const db = new DatabaseSync(source, { readOnly: true });
    try {
      db.exec("PRAGMA busy_timeout = 5000");
      // The copy holds keys and history: create it private (umask 077), like the original.
      withPrivateUmask(() => db.prepare("VACUUM INTO ?").run(tmp));
    } finally {
      db.close();
    }
    const report = inspectDatabase(tmp);
    if (report.problems.length > 0) {
      throw new Error(`the backup failed its integrity check: ${report.problems.join("; ")}`);
    }
    Deno.renameSync(tmp, dest);
    return report;
  } finally {
    try {
      Deno.removeSync(tmp);
    } catch {
      // renamed into place, or never written
    }
  }
}
