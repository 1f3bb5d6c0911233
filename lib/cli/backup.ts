/**
 * `taskferry backup FILE` and `taskferry relay backup FILE`: an online, consistent copy of the
 * daemon's or relay's SQLite database (lib/store/backup.ts). Restoring is copying the file back
 * while the process is stopped (docs/operations.md).
 */
import { join } from "node:path";
import { backupDatabase } from "../store/mod.ts";
import { type Command, parseFlags, UsageError } from "./command.ts";
import { taskferryHome } from "./settings.ts";

/** Backs up the database at `db` to `file`, printing what was written; exit code. */
export function runBackup(db: string, file: string | undefined, json: boolean): number {
  if (!file) throw new UsageError("backup takes the FILE to write (see: taskferry help backup)");
  if (/^postgres(ql)?:\/\//.test(db)) {
    throw new UsageError(
      "this relay uses PostgreSQL: back it up with pg_dump (docs/operations.md, Backups)",
    );
  }
  let report;
  try {
    report = backupDatabase(db, file);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? `no database at ${db}`
      : (err as Error).message;
    console.error(`taskferry: backup failed: ${reason}`);
    return 1;
  }
  const out = { source: db, backup: file, bytes: report.bytes, schema_version: report.version };
  console.log(
    json
      ? JSON.stringify(out)
      : `backed up ${db} → ${file} (${report.bytes} bytes, schema ${report.version}, integrity ok)`,
  );
  return 0;
}

/** `taskferry backup` */
export const backupCommand: Command = {
  name: "backup",
  summary: "Write a consistent copy of the daemon's database (safe while it runs)",
  help: `Usage: taskferry backup FILE [options]

Writes an online, consistent copy of the daemon's database (agents' private keys, pinned peers,
history, outbox) to FILE, which must not exist. The daemon may keep running. The copy is checked
and created 0600: it holds private keys, so store it like one. Restore: stop the daemon, copy FILE
to $TASKFERRY_HOME/client.db (removing any client.db-wal/-shm), start it. The relay's database:
'taskferry relay backup FILE'.

Options:
  --home DIR   data directory [env TASKFERRY_HOME; default ~/.taskferry]
  --db PATH    database file [env TASKFERRY_CLIENT_DB; default $TASKFERRY_HOME/client.db]
  --json       print {"source","backup","bytes","schema_version"}

Examples:
  taskferry backup ~/backups/taskferry-$(date +%F).db
`,
  run(args) {
    const { values, positionals } = parseFlags("backup", args, {
      home: { type: "string" },
      db: { type: "string" },
      json: { type: "boolean" },
    }, true);
    if (positionals.length > 1) throw new UsageError("backup takes one FILE");
    const env = Deno.env.toObject();
    const home = values.home ?? taskferryHome(env);
    const db = values.db ?? env.TASKFERRY_CLIENT_DB ?? join(home, "client.db");
    return Promise.resolve(runBackup(db, positionals[0], values.json === true));
  },
};
