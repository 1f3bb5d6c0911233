/**
 * One daemon per home (issue 19 item 3). Two daemons on one `$TASKFERRY_HOME` would share a
 * database, displace each other's relay session, and the one that stops last would delete the
 * other's `daemon.json`. So a daemon holds an exclusive advisory lock on `$home/daemon.lock` for
 * its whole life. The kernel drops the lock when the process dies, however it dies, so a lock left
 * by `kill -9` is never "held": the next start takes it over and says so. The file also records
 * the holder's pid and address, for the message the second start prints.
 *
 * The lock file is never deleted: deleting it would let a third process lock a fresh file while a
 * second still holds the old inode. A clean stop empties it instead.
 */
import { join } from "node:path";
import { logger } from "../log.ts";

const log = logger("daemon");

/** The lock file's name inside the home. */
export const LOCK_FILE = "daemon.lock";

/**
 * The lock that guards `dbPath`: `$home/daemon.lock` for the home's own database, else
 * `<db>.lock` beside a database given with `--db`. What must never be shared is the database (its
 * keys, device and relay session), so daemons with separate `--db` files may share a home — as the
 * Go TaskFerry's README runs alice and bob from one directory; `daemon.json` then names the daemon
 * that started last, and the CLI reaches the others with `--url`.
 */
export function lockPathFor(home: string, dbPath: string): string {
  return dbPath === join(home, "client.db") ? join(home, LOCK_FILE) : `${dbPath}.lock`;
}

/** What the lock file records about its holder. */
export interface LockHolder {
  pid: number;
  /** The API URL once bound, else the address asked for. */
  addr: string;
  started_at: string;
}

/** Thrown when another live process holds the home's lock. */
export class HomeLockedError extends Error {
  constructor(readonly home: string, readonly holder: LockHolder | null) {
    const who = holder
      ? `pid ${holder.pid}, serving ${holder.addr} since ${holder.started_at}`
      : "a process that is still starting";
    super(
      `another taskferry daemon is running on ${home} (${who}); stop it first ` +
        `(kill ${holder?.pid ?? "<pid>"}), or use another TASKFERRY_HOME (or --db)`,
    );
    this.name = "HomeLockedError";
  }
}

/** A held home lock. */
export interface HomeLock {
  /** What a stale lock (left by a process that died) recorded, if one was taken over. */
  readonly takenOver: LockHolder | null;
  /** Records the bound address (the lock is taken before the port is known). */
  record(addr: string): void;
  /** Empties the lock file and releases the lock. Idempotent. */
  release(): void;
}

/** Reads the holder recorded in `home`'s lock file; null when empty, missing or unreadable. */
export function readLockHolder(home: string, path = join(home, LOCK_FILE)): LockHolder | null {
  try {
    const json = JSON.parse(Deno.readTextFileSync(path));
    return typeof json?.pid === "number" ? json as LockHolder : null;
  } catch {
    return null;
  }
}

/**
 * Takes `home`'s daemon lock or throws {@link HomeLockedError} at once (it never waits).
 * `addr` is what the daemon is about to bind, recorded until {@link HomeLock.record} has the URL.
 */
export function acquireHomeLock(
  home: string,
  addr: string,
  path = join(home, LOCK_FILE),
): HomeLock {
  const file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  if (!file.tryLockSync(true)) {
    file.close();
    throw new HomeLockedError(home, readLockHolder(home, path));
  }
  // Whatever the file says now was written by a holder that is gone: the kernel gave us the lock.
  const takenOver = readLockHolder(home, path);
  if (takenOver) {
    log.warn("took over the lock of a daemon that did not stop cleanly", {
      home,
      stale_pid: takenOver.pid,
      stale_addr: takenOver.addr,
    });
  }
  const started_at = new Date().toISOString();
  const write = (a: string) => {
    const bytes = new TextEncoder().encode(
      JSON.stringify({ pid: Deno.pid, addr: a, started_at } satisfies LockHolder) + "\n",
    );
    file.truncateSync(0);
    file.seekSync(0, Deno.SeekMode.Start);
    file.writeSync(bytes);
  };
  write(addr);
  let held = true;
  return {
    takenOver,
    record: (a) => {
      if (held) write(a);
    },
    release: () => {
      if (!held) return;
      held = false;
      try {
        file.truncateSync(0);
        file.unlockSync();
      } finally {
        file.close();
      }
    },
  };
}

/**
 * Removes `$home/daemon.json` only when this process wrote it, so a daemon that stops never
 * strands the CLI of another one that runs on the same home.
 */
export function removeDaemonFileIfOwner(home: string): void {
  const path = join(home, "daemon.json");
  try {
    if (JSON.parse(Deno.readTextFileSync(path))?.pid !== Deno.pid) return;
    Deno.removeSync(path);
  } catch {
    // already gone, or not ours to judge
  }
}

/**
 * Whether a live daemon holds `home`'s lock, without disturbing it: the lock is taken and at once
 * released when free. For `taskferry doctor`.
 */
export function probeHomeLock(home: string): { held: boolean; holder: LockHolder | null } {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(join(home, LOCK_FILE), { read: true, write: true });
  } catch {
    return { held: false, holder: null }; // never started here
  }
  try {
    if (!file.tryLockSync(true)) return { held: true, holder: readLockHolder(home) };
    file.unlockSync();
    return { held: false, holder: readLockHolder(home) };
  } finally {
    file.close();
  }
}
