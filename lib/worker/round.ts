/**
 * One round of one task: prepare its directories and task file, run the child, turn its output
 * into progress, and deliver the outcome — an artifact on exit 0, a `task_fail` otherwise,
 * nothing when cancelled. The outcome is journaled before it is delivered, so a restart
 * delivers a finished round's result instead of running it again, and it is delivered only if
 * the daemon still shows the task waiting for exactly this round (never twice for a round).
 */
import { join } from "node:path";
import { ApiError, type TaskDetail } from "../sdk/mod.ts";
import { composeArtifact, readBounded, readOutputFiles } from "./artifact.ts";
import type { WorkerApi } from "./api.ts";
import { placeInputFiles, postOutputFiles } from "./files.ts";
import { MAX_REASON_CHARS, type WorkerConfig } from "./config.ts";
import { type RoundRecord, TaskJournal } from "./journal.ts";
import { DEFAULT_COALESCER, ProgressCoalescer } from "./progress.ts";
import { buildPrompt, type Round, roundOf } from "./prompt.ts";
import { type ChildOutcome, superviseChild, type Supervised } from "./supervise.ts";

/** A round in progress. */
export interface ActiveRound {
  taskId: string;
  revision: number;
  /** The child's pid while it runs. */
  pid(): number | null;
  /** Stops the child (cancel): SIGTERM to its group, SIGKILL after the grace; submits nothing. */
  cancel(): void;
  /** Resolves true when the round is settled, false when it must be retried (daemon error). */
  done: Promise<boolean>;
}

/** Task states in which the worker owes a round. */
export const RUNNABLE = ["accepted", "revision_requested"];

/** Refusals that mean the round's outcome is no longer wanted (already delivered, cancelled…). */
const SETTLED = ["illegal_transition", "artifact_version_mismatch", "task_expired", "task_role"];

/** Directories of a task under the workdir. */
export function taskDirs(workdir: string, taskId: string, revision: number) {
  const state = join(workdir, ".taskferry", taskId);
  const round = join(state, `round-${revision}`);
  return { work: join(workdir, taskId), state, round, output: join(round, "output") };
}

/** Starts the round `detail` is waiting for. */
/**
 * Opens a round's directories and journal. A round whose outcome was saved before a crash is
 * delivered from the journal instead of run again (null is returned); a round that was running
 * runs again (at-least-once), which is logged.
 */
export async function resumeRound(
  api: WorkerApi,
  cfg: WorkerConfig,
  taskId: string,
  round: Round,
  verb: "running" | "sending",
) {
  const dirs = taskDirs(cfg.workdir, taskId, round.revision);
  for (const d of [dirs.work, dirs.round]) Deno.mkdirSync(d, { recursive: true, mode: 0o700 });
  const journal = TaskJournal.load(dirs.state, taskId);
  const prev = journal.round(round.revision);
  if (prev && prev.version === round.version && prev.state === "finished") {
    cfg.log.info("delivering the saved outcome of a finished round", { task: taskId });
    await deliver(api, cfg, journal, dirs.state, prev);
    return null;
  }
  if (prev?.state === "running") {
    cfg.log.warn(`${verb} a round again after an interrupted run (at-least-once)`, {
      task: taskId,
      revision: round.revision,
    });
  }
  return { dirs, journal, prev };
}

export function startRound(api: WorkerApi, cfg: WorkerConfig, detail: TaskDetail): ActiveRound {
  const taskId = detail.task.id;
  const round = roundOf(detail.task);
  // Shared with the running round: the child once it exists, and whether a cancel came first.
  const run: { child: Supervised | null; cancelled: boolean } = { child: null, cancelled: false };
  const done = runRound(api, cfg, detail, round, (c) => {
    run.child = c;
    if (run.cancelled) c.stop("cancelled");
  }, () => run.cancelled).then(() => true, (err) => {
    cfg.log.warn("round not delivered; will retry", { task: taskId, error: err });
    return false;
  });
  return {
    taskId,
    revision: round.revision,
    pid: () => run.child?.pid ?? null,
    cancel() {
      run.cancelled = true;
      run.child?.stop("cancelled");
    },
    done,
  };
}

async function runRound(
  api: WorkerApi,
  cfg: WorkerConfig,
  detail: TaskDetail,
  round: Round,
  started: (c: Supervised) => void,
  isCancelled: () => boolean,
): Promise<void> {
  const taskId = detail.task.id;
  const resumed = await resumeRound(api, cfg, taskId, round, "running");
  if (!resumed) return;
  const { dirs, journal, prev } = resumed;
  // A worker killed with -9 leaves its child's group running (it has its own session).
  if (prev?.state === "running" && prev.pid) killOrphanGroup(prev.pid);
  if (isCancelled()) return;
  // Input files (design §12) go into the task's working directory before the run.
  if (api.files) {
    const missed = await placeInputFiles(api.files, taskId, cfg.agent, dirs.work);
    if (missed.length) cfg.log.warn("input files not placed", { task: taskId, missed });
  }
  journal.update(round.revision, {
    version: round.version,
    state: "running",
    attempts: (prev?.attempts ?? 0) + 1,
    started_at: new Date().toISOString(),
  });
  // A fresh output directory per attempt: files of an interrupted attempt are not attached.
  Deno.mkdirSync(dirs.output, { recursive: true, mode: 0o700 });
  Deno.removeSync(dirs.output, { recursive: true });
  Deno.mkdirSync(dirs.output, { recursive: true, mode: 0o700 });
  const taskFile = join(dirs.round, "task.json");
  Deno.writeTextFileSync(
    taskFile,
    JSON.stringify({ ...detail, round, agent: cfg.agent }, null, 2) + "\n",
    { mode: 0o600 },
  );
  const parser = cfg.preset.parser();
  const progress = new ProgressCoalescer(
    (text) => api.progress(taskId, { text, agent: cfg.agent }),
    cfg.coalescer ?? DEFAULT_COALESCER,
    (err) => cfg.log.debug("progress not sent", { task: taskId, error: err }),
  );
  const base = cfg.base.length ? cfg.base : cfg.preset.defaultBase ?? [];
  const session = round.revision > 0 ? journal.data.session_id : undefined;
  const stdoutFile = join(dirs.round, "stdout.txt");
  const child = superviseChild({
    argv: cfg.preset.argv(base, cfg.extraArgs, session),
    cwd: dirs.work,
    env: {
      TASKFERRY_TASK_ID: taskId,
      TASKFERRY_TASK_FILE: taskFile,
      TASKFERRY_OUTPUT_DIR: dirs.output,
      TASKFERRY_REVISION: String(round.revision),
      TASKFERRY_AGENT: cfg.agent,
    },
    stdin: buildPrompt(detail, round),
    stdoutFile,
  }, {
    onStdoutLine: (line) => {
      for (const p of parser.line(line).progress) progress.push(p);
    },
    onStderrLine: (line) => cfg.log.info("child stderr", { task: taskId, line }),
  }, {
    graceMs: cfg.graceMs,
    ...(cfg.timeoutMs ? { timeoutMs: cfg.timeoutMs } : {}),
  });
  started(child);
  if (child.pid) journal.update(round.revision, { version: round.version, pid: child.pid });
  cfg.log.info("run started", { task: taskId, revision: round.revision, pid: child.pid });
  const outcome = await child.done;
  const parsed = parser.result();
  if (parsed.session) journal.setSession(parsed.session);
  if (outcome.kind === "cancelled") {
    progress.discard();
    journal.update(round.revision, { version: round.version, state: "cancelled", ended_at: now() });
    cfg.log.info("run cancelled", { task: taskId, pid: child.pid });
    return;
  }
  await progress.close();
  const failure = failureOf(outcome, parsed.error, cfg.timeoutMs);
  let rec: RoundRecord;
  if (failure) {
    rec = journal.update(round.revision, {
      version: round.version,
      state: "finished",
      ended_at: now(),
      exit_code: outcome.code,
      reason: failure.reason,
      fail_code: failure.code,
    });
  } else {
    const result = parsed.content ?? readBounded(stdoutFile);
    // With file transfer the output files go as files (deliver), else as text parts.
    const content = composeArtifact(result, api.files ? [] : readOutputFiles(dirs.output));
    const resultFile = join(`round-${round.revision}`, "result.txt");
    Deno.writeTextFileSync(join(dirs.state, resultFile), content, { mode: 0o600 });
    rec = journal.update(round.revision, {
      version: round.version,
      state: "finished",
      ended_at: now(),
      exit_code: outcome.code,
      result_file: resultFile,
    });
  }
  await deliver(api, cfg, journal, dirs.state, rec);
}

/** The `task_fail` of an outcome, or null for success. */
export function failureOf(
  outcome: ChildOutcome,
  agentError: string | undefined,
  timeoutMs?: number,
): { code: string; reason: string } | null {
  const tail = outcome.stderrTail.length ? `\nstderr:\n${outcome.stderrTail.join("\n")}` : "";
  const bound = (s: string) =>
    s.length > MAX_REASON_CHARS
      ? s.slice(0, 200) + "\n…\n" + s.slice(-(MAX_REASON_CHARS - 203))
      : s;
  if (outcome.kind === "spawn_failed") {
    return { code: "spawn_failed", reason: bound(outcome.error ?? "the command could not start") };
  }
  // What the agent CLI itself reported (a preset's error result) says most; stderr follows.
  const said = agentError ? `\n${agentError}` : "";
  if (outcome.kind === "timeout") {
    return {
      code: "timeout",
      reason: bound(`timed out after ${(timeoutMs ?? 0) / 1000} s${said}${tail}`),
    };
  }
  if (outcome.signal) {
    return { code: "killed", reason: bound(`killed by ${outcome.signal}${said}${tail}`) };
  }
  if (outcome.code !== 0) {
    return { code: "exit_status", reason: bound(`exit status ${outcome.code}${said}${tail}`) };
  }
  if (agentError) return { code: "agent_error", reason: bound(agentError + tail) };
  return null;
}

/** Delivers a finished round if the daemon still waits for exactly that round. */
export async function deliver(
  api: WorkerApi,
  cfg: WorkerConfig,
  journal: TaskJournal,
  stateDir: string,
  rec: RoundRecord,
): Promise<void> {
  const taskId = journal.data.task_id;
  const fresh = (await api.task(taskId)).task;
  const want = roundOf(fresh);
  if (
    !RUNNABLE.includes(fresh.state) || want.revision !== rec.revision ||
    want.version !== rec.version
  ) {
    cfg.log.info("round no longer wanted; not delivered", { task: taskId, state: fresh.state });
    journal.update(rec.revision, { version: rec.version, state: "cancelled" });
    return;
  }
  try {
    if (rec.result_file) {
      const content = Deno.readTextFileSync(join(stateDir, rec.result_file));
      const output = join(stateDir, `round-${rec.revision}`, "output");
      const files = api.files ? await postOutputFiles(api.files, output) : [];
      await api.submit(taskId, {
        agent: cfg.agent,
        content,
        // A plain command's stdout is plain text; agents (presets, A2A) answer in markdown.
        content_type: cfg.preset.name === "exec" && !cfg.a2a ? "text/plain" : "text/markdown",
        ...(files.length ? { files } : {}),
      });
      journal.update(rec.revision, { version: rec.version, state: "submitted" });
      cfg.log.info("artifact submitted", { task: taskId, version: rec.version });
    } else {
      await api.fail(taskId, {
        reason: rec.reason ?? "the run failed",
        ...(rec.fail_code ? { code: rec.fail_code } : {}),
      });
      journal.update(rec.revision, { version: rec.version, state: "failed" });
      cfg.log.info("task failed", { task: taskId, code: rec.fail_code });
    }
  } catch (err) {
    if (err instanceof ApiError && SETTLED.includes(err.code)) {
      journal.update(rec.revision, { version: rec.version, state: "cancelled" });
      return;
    }
    throw err; // kept "finished" in the journal: the next reconcile delivers it
  }
}

/** SIGKILLs the process group `pgid` if a process of it still leads it (an orphaned run). */
function killOrphanGroup(pgid: number) {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pgid}/stat`);
    // Fields after the command name: state, ppid, pgrp. Only a group leader of its own group.
    const [, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) !== pgid) return;
  } catch {
    if (Deno.build.os === "linux") return; // no such process
  }
  try {
    Deno.kill(-pgid, "SIGKILL");
  } catch {
    // already gone
  }
}

function now() {
  return new Date().toISOString();
}
