/**
 * Data files are private to the user who runs TaskFerry (issue 13 item 9): the home directory is
 * 0700, every database and its `-wal`/`-shm` sidecars 0600. Two mechanisms, because neither is
 * enough alone: a umask of 077 while files are created (SQLite creates the sidecars itself, with the
 * main file's mode), and a check at start-up that fixes, loudly, what an older version or a
 * careless copy left readable.
 */
import { logger } from "../log.ts";

const log = logger("store");

/** The sidecar files SQLite creates next to a database in WAL mode. */
export const SQLITE_SIDECARS = ["-wal", "-shm", "-journal"] as const;

/**
 * Runs `fn` with the process umask at 077, so every file it creates is private, then restores the
 * previous umask. `fn` must be synchronous: the umask is process-wide. Where the platform has no
 * umask (Windows) `fn` simply runs.
 */
export function withPrivateUmask<T>(fn: () => T): T {
  let previous: number | undefined;
  try {
    previous = Deno.umask(0o077);
  } catch {
    // no umask on this platform
  }
  try {
    return fn();
  } finally {
    if (previous !== undefined) Deno.umask(previous);
  }
}

/**
 * Makes `path` private: 0700 for a directory, 0600 for a file. Returns what was wrong (the old
 * mode, in octal) after fixing it, or null when it was already private or does not exist.
 * Logs a warning for each fix, since a readable key store is worth an operator's attention.
 */
export function ensurePrivate(path: string): string | null {
  if (Deno.build.os === "windows") return null; // ACLs, not mode bits
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return null;
  }
  const mode = (info.mode ?? 0) & 0o777;
  if ((mode & 0o077) === 0) return null;
  const want = info.isDirectory ? 0o700 : 0o600;
  Deno.chmodSync(path, want);
  const was = mode.toString(8).padStart(4, "0");
  log.warn("data file was readable by others; made it private", {
    path,
    was,
    now: want.toString(8).padStart(4, "0"),
  });
  return was;
}

/** {@link ensurePrivate} for a database file and each of its sidecars that exists. */
export function ensurePrivateDatabase(path: string): string[] {
  const fixed: string[] = [];
  for (const p of [path, ...SQLITE_SIDECARS.map((s) => path + s)]) {
    if (ensurePrivate(p) !== null) fixed.push(p);
  }
  return fixed;
}

/**
 * {@link ensurePrivate} for a data directory and every file directly in it: the start-up check
 * (warn and fix) for a home that an older version, a restore or a copy left readable.
 */
export function ensurePrivateHome(dir: string): string[] {
  const fixed: string[] = [];
  if (ensurePrivate(dir) !== null) fixed.push(dir);
  try {
    for (const entry of Deno.readDirSync(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isFile && ensurePrivate(path) !== null) fixed.push(path);
    }
  } catch {
    // missing or unreadable: opening it will say so
  }
  return fixed;
}

/** Sets the process umask to 077 for good (long-running commands); a no-op where there is none. */
export function setPrivateUmask(): void {
  try {
    Deno.umask(0o077);
  } catch {
    // no umask on this platform
  }
}
