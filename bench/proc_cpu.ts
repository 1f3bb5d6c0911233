/**
 * CPU time from Linux's /proc, the figure benchmarks compare changes with: unlike wall time it
 * hardly moves when other processes compete for the cores. NaN where /proc is not there.
 * @module
 */

/** User + system CPU (ms) in a /proc `stat` file: fields 14 and 15 of stat(5), 10 ms ticks. */
function statCpuMs(path: string): number {
  try {
    const stat = Deno.readTextFileSync(path);
    // The fields after the command name, which may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** CPU time (ms) of process `pid` ("self": this one), all its threads. */
export function processCpuMs(pid: number | "self" = "self"): number {
  return statCpuMs(`/proc/${pid}/stat`);
}

/** CPU time (ms) of this process's main thread (where an in-process relay or daemon runs). */
export function mainThreadCpuMs(): number {
  return statCpuMs(`/proc/self/task/${Deno.pid}/stat`);
}
