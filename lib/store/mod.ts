/** Storage: SQLite open, pragmas, versioned migrations and small typed query helpers. */
export {
  all,
  type DatabaseSync,
  get,
  type Migration,
  openDatabase,
  type OpenOptions,
  prepare,
  run,
  schemaVersion,
  type SQLInputValue,
  transaction,
} from "./sqlite.ts";
export {
  ensurePrivate,
  ensurePrivateDatabase,
  ensurePrivateHome,
  setPrivateUmask,
  SQLITE_SIDECARS,
  withPrivateUmask,
} from "./private.ts";
export { backupDatabase, type DatabaseReport, inspectDatabase } from "./backup.ts";
export {
  type CheckpointOptions,
  type CheckpointStats,
  DEFAULT_CHECKPOINT_OPTIONS,
  WalCheckpointer,
} from "./checkpoint.ts";
