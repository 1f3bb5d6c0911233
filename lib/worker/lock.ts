/**
 * One worker per agent: two workers taking the same agent's tasks would run every round twice
 * (only one submit would win). The lock is a file holding the worker's pid, created atomically;
 * a lock left by a worker that died (killed with -9) is taken over.
 */

/** A held lock. */
export interface WorkerLock {
  release(): void;
}

/** Takes the lock at `path`, or returns the pid of the live worker holding it. */
export function acquireWorkerLock(path: string): WorkerLock | { heldBy: number } {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
      file.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
      file.close();
      return {
        release() {
          try {
            if (Number(Deno.readTextFileSync(path).trim()) === Deno.pid) Deno.removeSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      const pid = Number(Deno.readTextFileSync(path).trim());
      if (pid > 0 && pid !== Deno.pid && processAlive(pid)) return { heldBy: pid };
      Deno.removeSync(path); // stale: its worker is gone
    }
  }
  throw new Error(`cannot take the worker lock ${path}`);
}

function processAlive(pid: number): boolean {
  if (Deno.build.os !== "linux") return true; // no /proc: never take over a lock silently
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}
