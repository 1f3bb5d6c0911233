/**
 * Wake mode: for agents that run interactively rather than per task. Each new inbox item of
 * the agent (debounced: items arriving close together make one run) runs a command that gets
 * only ids and paths in its environment — never content — and reads what it needs through the
 * loopback API itself. One run at a time; items arriving during a run make one more run after it.
 */
import { join } from "node:path";
import type { Logger } from "../log.ts";
import type { WorkerApi } from "./api.ts";
import { superviseChild } from "./supervise.ts";

/** What wake mode needs. */
export interface WakeOptions {
  api: Pick<WorkerApi, "inboxHead" | "waitInbox">;
  agent: string;
  /** The command words (no shell). */
  command: string[];
  /** Quiet time after an item before the command runs. */
  debounceMs: number;
  graceMs: number;
  timeoutMs?: number;
  /** Where run logs go (`<workdir>/wake-last.stdout`); the command's cwd. */
  workdir: string;
  /** Passed on so the command can reach the daemon (the URL only; it finds its own token). */
  daemonUrl?: string;
  log: Logger;
  signal: AbortSignal;
  /** Called once the inbox cursor is taken: items from then on wake the command (tests). */
  onReady?: () => void;
  /** Called after each run with the ids it was given (tests). */
  onRun?: (ids: string[], code: number | null) => void;
}

/** Runs `command` for new inbox items until the signal aborts. */
export async function runWake(opts: WakeOptions): Promise<void> {
  const { api, agent, signal } = opts;
  Deno.mkdirSync(opts.workdir, { recursive: true, mode: 0o700 });
  let after = await api.inboxHead(agent);
  opts.onReady?.();
  while (!signal.aborted) {
    let page = await api.waitInbox(agent, after, 25, signal);
    if (!page.items.length) {
      after = page.after;
      continue;
    }
    const items = [...page.items];
    // Debounce: keep collecting while items keep coming within the quiet time.
    while (!signal.aborted) {
      const quiet = AbortSignal.any([signal, AbortSignal.timeout(opts.debounceMs)]);
      const more = await api.waitInbox(agent, page.after, 1, quiet);
      if (!more.items.length) break;
      items.push(...more.items);
      page = more;
    }
    if (signal.aborted) break;
    const ids = items.map((i) => i.id);
    const tasks = [...new Set(items.map((i) => i.task_id).filter((t): t is string => !!t))];
    const child = superviseChild({
      argv: opts.command,
      cwd: opts.workdir,
      env: {
        TASKFERRY_AGENT: agent,
        TASKFERRY_WAKE_IDS: ids.join(","),
        TASKFERRY_WAKE_TYPES: items.map((i) => i.type).join(","),
        TASKFERRY_WAKE_TASK_IDS: tasks.join(","),
        TASKFERRY_INBOX_AFTER: String(after),
        TASKFERRY_INBOX_NEXT: String(page.after),
        ...(opts.daemonUrl ? { TASKFERRY_CLIENT_URL: opts.daemonUrl } : {}),
      },
      stdin: "",
      stdoutFile: join(opts.workdir, "wake-last.stdout"),
    }, {
      onStdoutLine: (line) => opts.log.info("wake stdout", { line }),
      onStderrLine: (line) => opts.log.info("wake stderr", { line }),
    }, { graceMs: opts.graceMs, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
    const onAbort = () => child.stop("cancelled");
    signal.addEventListener("abort", onAbort);
    const outcome = await child.done;
    signal.removeEventListener("abort", onAbort);
    if (outcome.kind !== "exit" || outcome.code !== 0) {
      opts.log.warn("wake command failed", {
        kind: outcome.kind,
        code: outcome.code,
        error: outcome.error,
      });
    }
    opts.onRun?.(ids, outcome.code);
    after = page.after;
  }
}
