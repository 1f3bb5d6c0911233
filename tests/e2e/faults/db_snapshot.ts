/**
 * Snapshots of a SQLite database taken through a separate read-only connection (the process
 * that owns the file keeps running): per table, the row count and a digest of every row, so a
 * hostile request can be shown to have changed nothing at all.
 * @module
 */
import { createHash } from "node:crypto";
import { DatabaseSync } from "node:sqlite";

/** Per table: row count and SHA-256 of the rows. */
export type DbSnapshot = Record<string, { rows: number; digest: string }>;

/** Columns that move without any request (retry counters): left out of the digest. */
const VOLATILE = new Set(["attempts"]);

/** Snapshots every table of the database at `path`. */
export function snapshotDb(path: string): DbSnapshot {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const tables = (db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    ).all() as { name: string }[]).map((t) => t.name);
    const out: DbSnapshot = {};
    for (const table of tables) {
      const cols = (db.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[])
        .map((c) => c.name).filter((c) => !VOLATILE.has(c));
      const list = cols.map((c) => `"${c}"`).join(", ");
      const rows = db.prepare(`SELECT ${list} FROM "${table}" ORDER BY rowid`).all();
      const hash = createHash("sha256");
      for (const row of rows) hash.update(JSON.stringify(Object.values(row)) + "\n");
      out[table] = { rows: rows.length, digest: hash.digest("hex").slice(0, 16) };
    }
    return out;
  } finally {
    db.close();
  }
}

/** Snapshots several databases by label. */
export function snapshotAll(paths: Record<string, string>): Record<string, DbSnapshot> {
  return Object.fromEntries(Object.entries(paths).map(([k, p]) => [k, snapshotDb(p)]));
}

/** `db.table` names whose rows differ between two snapshots (empty: nothing changed). */
export function changedTables(
  before: Record<string, DbSnapshot>,
  after: Record<string, DbSnapshot>,
): string[] {
  const out: string[] = [];
  for (const [db, tables] of Object.entries(after)) {
    const names = new Set([...Object.keys(tables), ...Object.keys(before[db] ?? {})]);
    for (const t of names) {
      const a = before[db]?.[t];
      const b = tables[t];
      if (!a || !b || a.rows !== b.rows || a.digest !== b.digest) {
        out.push(`${db}.${t} (${a?.rows ?? "-"} → ${b?.rows ?? "-"} rows)`);
      }
    }
  }
  return out;
}

/** Row count deltas per `db.table` (only the tables whose count moved). */
export function rowDeltas(
  before: Record<string, DbSnapshot>,
  after: Record<string, DbSnapshot>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [db, tables] of Object.entries(after)) {
    for (const [t, s] of Object.entries(tables)) {
      const d = s.rows - (before[db]?.[t]?.rows ?? 0);
      if (d !== 0) out[`${db}.${t}`] = d;
    }
  }
  return out;
}
