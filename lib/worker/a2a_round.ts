/**
 * One round of one task handed to a local A2A server agent (`taskferry worker --a2a URL`,
 * design §15) instead of a child process: the round's prompt goes as an A2A message through
 * {@link runA2ARound} (the official `@a2a-js/sdk` client), the agent's status messages become
 * progress, its final artifact the next TaskFerry artifact, and an A2A `failed` / `rejected` a
 * `task_fail` with the agent's reason. The A2A task and context ids are kept in the task's
 * journal, so a revision — even after a restart — is a follow-up message on the same A2A task
 * (or, once the agent closed it, a new task in the same context). Cancel aborts the round,
 * which cancels the A2A task (`CancelTask`). Journal and delivery are the same as a child's
 * (lib/worker/round.ts): saved before delivered, delivered only if still wanted.
 */
import { runA2ARound } from "../a2a/executor.ts";
import type { TaskDetail } from "../sdk/mod.ts";
import type { WorkerApi } from "./api.ts";
import { MAX_REASON_CHARS, type WorkerConfig } from "./config.ts";
import { join } from "node:path";
import { DEFAULT_COALESCER, ProgressCoalescer } from "./progress.ts";
import { buildPrompt, latestFeedback, type Round, roundOf } from "./prompt.ts";
import { type ActiveRound, deliver, resumeRound } from "./round.ts";
import { boundText, MAX_ARTIFACT_BYTES } from "./artifact.ts";

/** Why a round's signal was aborted: the requester cancelled, or `--timeout` passed. */
class Stop extends Error {
  constructor(readonly kind: "cancelled" | "timeout") {
    super(kind === "cancelled" ? "the round was cancelled" : "the round timed out");
  }
}

/** Starts the round `detail` is waiting for at the A2A agent `cfg.a2a`. */
export function startA2ARound(api: WorkerApi, cfg: WorkerConfig, detail: TaskDetail): ActiveRound {
  const taskId = detail.task.id;
  const round = roundOf(detail.task);
  const ac = new AbortController();
  const done = runRound(api, cfg, detail, round, ac.signal).then(() => true, (err) => {
    cfg.log.warn("round not delivered; will retry", { task: taskId, error: err });
    return false;
  });
  return {
    taskId,
    revision: round.revision,
    pid: () => null,
    cancel: () => ac.abort(new Stop("cancelled")),
    done,
  };
}

/** A failure code from an A2A end state: `TASK_STATE_REJECTED` → `a2a_rejected`. */
export function a2aFailCode(state: string): string {
  const name = state.replace(/^TASK_STATE_/, "").toLowerCase().replace(/[^a-z0-9_]/g, "_");
  return `a2a_${name || "failed"}`.slice(0, 64);
}

function bound(s: string): string {
  return s.length > MAX_REASON_CHARS
    ? s.slice(0, 200) + "\n…\n" + s.slice(-(MAX_REASON_CHARS - 203))
    : s;
}

async function runRound(
  api: WorkerApi,
  cfg: WorkerConfig,
  detail: TaskDetail,
  round: Round,
  cancel: AbortSignal,
): Promise<void> {
  const url = cfg.a2a!;
  const taskId = detail.task.id;
  const resumed = await resumeRound(api, cfg, taskId, round, "sending");
  if (!resumed) return;
  const { dirs, journal, prev } = resumed;
  if (cancel.aborted) return;
  journal.update(round.revision, {
    version: round.version,
    state: "running",
    attempts: (prev?.attempts ?? 0) + 1,
    started_at: now(),
  });
  const saved = journal.data.a2a;
  const previous = saved ? { taskId: saved.task_id, contextId: saved.context_id } : undefined;
  // A follow-up on the agent's own conversation needs only what is new: the feedback. Without
  // one (the journal was lost) the agent gets the whole prompt, previous artifact included.
  const prompt = round.revision > 0 && previous
    ? latestFeedback(detail)?.trim() || "(no feedback given)"
    : buildPrompt(detail, round);
  const progress = new ProgressCoalescer(
    (text) => api.progress(taskId, { text, agent: cfg.agent }),
    cfg.coalescer ?? DEFAULT_COALESCER,
    (err) => cfg.log.debug("progress not sent", { task: taskId, error: err }),
  );
  const timeout = new AbortController();
  const timer = cfg.timeoutMs
    ? setTimeout(() => timeout.abort(new Stop("timeout")), cfg.timeoutMs)
    : undefined;
  const signal = AbortSignal.any([cancel, timeout.signal]);
  cfg.log.info("round sent to the A2A agent", { task: taskId, revision: round.revision, url });
  let failure: { code: string; reason: string } | null = null;
  let content = "";
  try {
    const result = await runA2ARound({
      url,
      prompt,
      taskId,
      revision: round.revision,
      ...(previous ? { previous } : {}),
      signal,
      onProgress: (text) => {
        for (const line of text.split("\n")) progress.push(line);
      },
    });
    journal.setA2A(result.a2a);
    if (result.outcome === "artifact") content = boundText(result.text, MAX_ARTIFACT_BYTES);
    else {
      failure = {
        code: a2aFailCode(result.state),
        reason: bound(result.text || `the A2A agent ended the task ${result.state}`),
      };
    }
  } catch (err) {
    const stop = signal.reason instanceof Stop ? signal.reason : null;
    if (stop?.kind === "cancelled") {
      progress.discard();
      journal.update(round.revision, {
        version: round.version,
        state: "cancelled",
        ended_at: now(),
      });
      cfg.log.info("round cancelled at the A2A agent", { task: taskId });
      return;
    }
    failure = stop
      ? { code: "timeout", reason: `timed out after ${(cfg.timeoutMs ?? 0) / 1000} s` }
      : { code: "a2a_error", reason: bound(`the A2A agent at ${url}: ${messageOf(err)}`) };
  } finally {
    clearTimeout(timer);
  }
  await progress.close();
  let rec;
  if (failure) {
    rec = journal.update(round.revision, {
      version: round.version,
      state: "finished",
      ended_at: now(),
      reason: failure.reason,
      fail_code: failure.code,
    });
  } else {
    const resultFile = join(`round-${round.revision}`, "result.txt");
    Deno.writeTextFileSync(join(dirs.state, resultFile), content, { mode: 0o600 });
    rec = journal.update(round.revision, {
      version: round.version,
      state: "finished",
      ended_at: now(),
      result_file: resultFile,
    });
  }
  await deliver(api, cfg, journal, dirs.state, rec);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function now() {
  return new Date().toISOString();
}
