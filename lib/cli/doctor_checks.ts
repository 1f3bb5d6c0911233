/**
 * The pieces `taskferry doctor` is made of: a check result with a fix hint, the checks both
 * sides share (file permissions, database integrity, disk space, an HTTP probe), and the report.
 */
import { statfsSync } from "node:fs";
import { dirname, join } from "node:path";
import { inspectDatabase, SQLITE_SIDECARS } from "../store/mod.ts";

/** ok, warn (works, but look at it) or fail (broken: non-zero exit). */
export type CheckStatus = "ok" | "warn" | "fail";

/** One finding. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about it; every warn and fail has one. */
  fix?: string;
}

/** Disk space below these is a failure / a warning (SQLite needs room for the WAL and VACUUM). */
const DISK_FAIL_BYTES = 100 * 1024 * 1024;
const DISK_WARN_BYTES = 1024 * 1024 * 1024;

/** Every file in `dir` (and `dir` itself) is private: 0700 / 0600. */
export function checkPermissions(dir: string, files?: string[]): CheckResult {
  if (Deno.build.os === "windows") {
    return { name: "permissions", status: "ok", detail: "not checked on Windows (ACLs)" };
  }
  const loose: string[] = [];
  const mode = (p: string) => (Deno.statSync(p).mode ?? 0) & 0o777;
  try {
    if (mode(dir) & 0o077) loose.push(`${dir} is ${mode(dir).toString(8)}`);
    const paths = files ??
      [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => join(dir, e.name));
    for (const p of paths) {
      try {
        if (mode(p) & 0o077) loose.push(`${p} is ${mode(p).toString(8)}`);
      } catch {
        // absent sidecar
      }
    }
  } catch {
    return {
      name: "permissions",
      status: "warn",
      detail: `${dir} does not exist yet`,
      fix: "start the service once",
    };
  }
  if (loose.length === 0) {
    return { name: "permissions", status: "ok", detail: `${dir} and its files are private` };
  }
  return {
    name: "permissions",
    status: "fail",
    detail: `readable by others: ${loose.join(", ")}`,
    fix: `chmod 700 ${dir} && chmod 600 ${dir}/* (or restart: a start makes them private)`,
  };
}

/** The database and its sidecars, for {@link checkPermissions}. */
export function databaseFiles(path: string): string[] {
  return [path, ...SQLITE_SIDECARS.map((s) => path + s)];
}

/** `quick_check` and the schema version against what this code knows. */
export function checkDatabase(path: string, latest: number): CheckResult {
  const name = "database";
  try {
    Deno.statSync(path);
  } catch {
    return {
      name,
      status: "warn",
      detail: `no database at ${path} yet`,
      fix: "it is created on the first start",
    };
  }
  try {
    const r = inspectDatabase(path);
    if (r.problems.length > 0) {
      return {
        name,
        status: "fail",
        detail: `${path} is damaged: ${r.problems.slice(0, 3).join("; ")}`,
        fix: "stop the service and restore the latest backup (docs/operations.md, Backups)",
      };
    }
    if (r.version > latest) {
      return {
        name,
        status: "fail",
        detail: `${path} has schema ${r.version}; this TaskFerry knows up to ${latest}`,
        fix: "upgrade TaskFerry (a newer version wrote this database)",
      };
    }
    return {
      name,
      status: "ok",
      detail: `${path}: integrity ok, schema ${r.version}, ${r.bytes} bytes`,
    };
  } catch (err) {
    return {
      name,
      status: "fail",
      detail: (err as Error).message,
      fix: "check the path and permissions, or restore the latest backup",
    };
  }
}

/** Free space where `path` lives. */
export function checkDiskSpace(path: string): CheckResult {
  const name = "disk space";
  // The data directory may not exist yet: measure the filesystem it will be created on.
  while (!exists(path) && dirname(path) !== path) path = dirname(path);
  try {
    const s = statfsSync(path);
    const free = Number(s.bavail) * Number(s.bsize);
    const text = `${(free / 1024 / 1024).toFixed(0)} MiB free at ${path}`;
    if (free < DISK_FAIL_BYTES) {
      return { name, status: "fail", detail: text, fix: "free disk space: writes will fail" };
    }
    if (free < DISK_WARN_BYTES) {
      return { name, status: "warn", detail: text, fix: "free some disk space soon" };
    }
    return { name, status: "ok", detail: text };
  } catch (err) {
    return {
      name,
      status: "warn",
      detail: `cannot tell: ${(err as Error).message}`,
      fix: "check with df",
    };
  }
}

/** GET `url` with a timeout; the response, or the error's message. */
export async function probe(
  url: string,
  init: RequestInit = {},
  timeoutMs = 5000,
): Promise<Response | string> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: Error }).cause?.message;
    return cause ?? (err as Error).message;
  }
}

/** Prints the results and returns the exit code: 1 when any check failed. */
export function report(results: CheckResult[], json: boolean): number {
  const failed = results.some((r) => r.status === "fail");
  if (json) console.log(JSON.stringify({ ok: !failed, checks: results }, null, 2));
  else {
    for (const r of results) {
      console.log(`${r.status.toUpperCase().padEnd(5)} ${r.name.padEnd(14)} ${r.detail}`);
      if (r.fix && r.status !== "ok") console.log(`${"".padEnd(21)}fix: ${r.fix}`);
    }
    console.log(failed ? "\nSome checks failed." : "\nAll checks passed.");
  }
  return failed ? 1 : 0;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
