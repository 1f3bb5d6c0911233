/**
 * SQLite over `node:sqlite` (design §9): open with the pragmas every TaskFerry database uses,
 * apply ordered, versioned migrations, and refuse a database written by a newer TaskFerry.
 * Everything here is synchronous: one connection is the one writer, and the async store
 * interfaces of the relay and daemon are built on top of it.
 */
import {
  DatabaseSync,
  type SQLInputValue,
  type StatementResultingChanges,
  type StatementSync,
} from "node:sqlite";
import { TaskferryError } from "../protocol/errors.ts";
import { ensurePrivateDatabase, withPrivateUmask } from "./private.ts";

export type { DatabaseSync, SQLInputValue };

/** One schema migration; `version` is what `PRAGMA user_version` holds once it has run. */
export type Migration =
  & { version: number; name: string }
  & ({ sql: string; up?: never } | { up: (db: DatabaseSync) => void; sql?: never });

/** Options for {@link openDatabase}. */
export interface OpenOptions {
  /** How long a statement waits for another connection's lock; default 5000 ms. */
  busyTimeoutMs?: number;
}

/** Migrations that have run are recorded here too (the version itself is `user_version`). */
const HISTORY_TABLE = "schema_migrations";

/**
 * Opens (creating if needed) the SQLite database at `path`, sets the pragmas, and brings its
 * schema up to the last of `migrations`, each migration in its own transaction.
 *
 * Throws `TaskferryError("database_too_new")` without writing anything when the database's
 * schema version is newer than the last migration this code knows: an older TaskFerry must not
 * guess at a newer schema. Throws `TypeError` when `migrations` are not strictly ascending.
 */
export function openDatabase(
  path: string,
  migrations: readonly Migration[],
  options: OpenOptions = {},
): DatabaseSync {
  checkMigrations(migrations);
  const latest = migrations.at(-1)?.version ?? 0;
  if (isMemoryPath(path)) return setUp(new DatabaseSync(path), path, migrations, latest, options);
  // Fix a database an older version (or a copy) left readable before opening it, and create new
  // files (the database, then its -wal and -shm) under umask 077 so they are never readable.
  ensurePrivateDatabase(path);
  return withPrivateUmask(() => {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (err) {
      // node:sqlite says only "unable to open database file"; name the file for the operator.
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`cannot open database ${path}: ${reason}`, { cause: err });
    }
    return setUp(db, path, migrations, latest, options);
  });
}

function setUp(
  db: DatabaseSync,
  path: string,
  migrations: readonly Migration[],
  latest: number,
  options: OpenOptions,
): DatabaseSync {
  try {
    // busy_timeout only affects this connection; it must come first so the version read below
    // waits out another process that is migrating instead of failing with SQLITE_BUSY.
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
    // Check the version before any pragma that writes (journal_mode=WAL rewrites the header),
    // so a database from a newer TaskFerry is left exactly as it was.
    refuseTooNew(path, schemaVersion(db), latest);
    if (!isMemoryPath(path)) {
      const mode = get<{ journal_mode: string }>(db, "PRAGMA journal_mode = WAL")?.journal_mode;
      if (mode !== "wal") throw new Error(`${path}: could not enable WAL (journal_mode=${mode})`);
    }
    // NORMAL is durable across application crashes in WAL mode and avoids an fsync per commit.
    db.exec("PRAGMA synchronous = NORMAL");
    // Savepoint and statement journals in memory: past 64 KB SQLite writes them to a temp file,
    // a pwrite per page (~2.4 per envelope in the relay under load, issue 21 third pass). They
    // only undo the open transaction; the WAL and its durability are unchanged.
    db.exec("PRAGMA temp_store = MEMORY");
    migrate(db, path, migrations, latest);
    // Enforcement is on for normal work only; migrate() checks foreign keys itself.
    db.exec("PRAGMA foreign_keys = ON");
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The schema version of an open database (`PRAGMA user_version`). */
export function schemaVersion(db: DatabaseSync): number {
  return get<{ user_version: number }>(db, "PRAGMA user_version")?.user_version ?? 0;
}

function isMemoryPath(path: string): boolean {
  // "" is SQLite's private temporary database; neither kind can use WAL.
  return path === ":memory:" || path === "";
}

function checkMigrations(migrations: readonly Migration[]) {
  let previous = 0;
  for (const m of migrations) {
    if (!Number.isSafeInteger(m.version) || m.version <= previous) {
      throw new TypeError(
        `migration versions must be ascending integers >= 1; got ${m.version} after ${previous}`,
      );
    }
    if ((m.sql === undefined) === (m.up === undefined)) {
      throw new TypeError(`migration ${m.version} (${m.name}) needs exactly one of sql or up`);
    }
    previous = m.version;
  }
}

function refuseTooNew(path: string, found: number, latest: number) {
  if (found <= latest) return;
  throw new TaskferryError(
    "database_too_new",
    `The database ${path} has schema version ${found}, but this TaskFerry knows versions up to ` +
      `${latest}. It was written by a newer TaskFerry; upgrade TaskFerry to open it. ` +
      `(The database was not changed.)`,
  );
}

function migrate(db: DatabaseSync, path: string, migrations: readonly Migration[], latest: number) {
  const start = schemaVersion(db);
  if (start >= latest) return;
  // Foreign keys are off while the schema changes (SQLite's documented way to rebuild tables);
  // each migration runs foreign_key_check before it commits instead. The pragma is a no-op
  // inside a transaction, so it is set here.
  db.exec("PRAGMA foreign_keys = OFF");
  for (const m of migrations.filter((m) => m.version > start)) {
    transaction(db, () => {
      // Re-read under the write lock: another process may have migrated since we looked.
      const current = schemaVersion(db);
      refuseTooNew(path, current, latest);
      if (current >= m.version) return;
      if (current === 0) {
        db.exec(`CREATE TABLE IF NOT EXISTS ${HISTORY_TABLE} (
          version INTEGER PRIMARY KEY,
          name TEXT NOT NULL,
          applied_at TEXT NOT NULL
        ) STRICT`);
      }
      try {
        if (m.sql !== undefined) db.exec(m.sql);
        else m.up(db);
        const violation = get<Record<string, unknown>>(db, "PRAGMA foreign_key_check");
        if (violation) throw new Error(`foreign key violation: ${JSON.stringify(violation)}`);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(`${path}: migration ${m.version} (${m.name}) failed: ${reason}`, {
          cause: err,
        });
      }
      run(
        db,
        `INSERT INTO ${HISTORY_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`,
        m.version,
        m.name,
        new Date().toISOString(),
      );
      // user_version lives in the file header and is written atomically with this transaction.
      db.exec(`PRAGMA user_version = ${m.version}`);
    });
  }
}

let savepointCounter = 0;

/**
 * Runs `fn` in a transaction and returns its result: `BEGIN IMMEDIATE` … `COMMIT`, or
 * `ROLLBACK` and rethrow when `fn` throws. Called inside another transaction it uses a
 * SAVEPOINT, so an inner failure undoes only the inner work (if the outer `fn` catches it).
 *
 * `fn` must be synchronous: `node:sqlite` is synchronous, and awaiting inside would let other
 * code run inside this transaction.
 */
export function transaction<T>(db: DatabaseSync, fn: () => T): T {
  // IMMEDIATE takes the write lock up front, so a read-then-write transaction cannot fail
  // half-way with SQLITE_BUSY (busy_timeout applies to BEGIN, not to lock upgrades).
  const nested = db.isTransaction;
  const savepoint = `tf_sp_${++savepointCounter}`;
  db.exec(nested ? `SAVEPOINT ${savepoint}` : "BEGIN IMMEDIATE");
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) {
      result.catch(() => {}); // the caller gets the TypeError below instead
      throw new TypeError("transaction() callbacks must be synchronous");
    }
  } catch (err) {
    // SQLite rolls some failures (e.g. SQLITE_FULL) back by itself; only undo what is open.
    if (db.isTransaction) {
      db.exec(nested ? `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}` : "ROLLBACK");
    }
    throw err;
  }
  db.exec(nested ? `RELEASE ${savepoint}` : "COMMIT");
  return result;
}

// Prepared statements are cached per connection: preparing costs more than running a small
// query. SQL text comes from code, so the cache stays small; the cap guards against misuse.
const STATEMENT_CACHE_LIMIT = 500;
const statements = new WeakMap<DatabaseSync, Map<string, StatementSync>>();

/**
 * The cached prepared statement for `sql` on `db`. The statement is shared by every caller with
 * the same SQL, so finish an `iterate()` over it before running that SQL again.
 */
export function prepare(db: DatabaseSync, sql: string): StatementSync {
  let cache = statements.get(db);
  if (!cache) statements.set(db, cache = new Map());
  let statement = cache.get(sql);
  if (!statement) {
    if (cache.size >= STATEMENT_CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    statement = db.prepare(sql);
    cache.set(sql, statement);
  }
  return statement;
}

/** All rows of a query, as plain objects (node:sqlite returns null-prototype rows). */
export function all<T extends object = Record<string, unknown>>(
  db: DatabaseSync,
  sql: string,
  ...params: SQLInputValue[]
): T[] {
  return prepare(db, sql).all(...params).map((row) => ({ ...row }) as T);
}

/** The first row of a query as a plain object, or undefined when there is none. */
export function get<T extends object = Record<string, unknown>>(
  db: DatabaseSync,
  sql: string,
  ...params: SQLInputValue[]
): T | undefined {
  const row = prepare(db, sql).get(...params);
  return row === undefined ? undefined : { ...row } as T;
}

/** Runs a statement; returns the number of changed rows and the last inserted rowid. */
export function run(
  db: DatabaseSync,
  sql: string,
  ...params: SQLInputValue[]
): StatementResultingChanges {
  return prepare(db, sql).run(...params);
}
