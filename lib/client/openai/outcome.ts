/** Waiting for a delegated task's outcome: its first new artifact, an end, or a refusal. */
import { isTerminal, type TaskState } from "../../protocol/mod.ts";
import type { ArtifactView } from "../../protocol/views.ts";
import { logger } from "../../log.ts";
import type { Daemon } from "../daemon.ts";
import type { DaemonEvent } from "../events.ts";
import { taskDetail } from "../tasks/mod.ts";

const log = logger("openai");

/** How a wait ended. */
export type Outcome =
  | { kind: "artifact"; version: number; content: string; message_id: string }
  | { kind: "ended"; state: TaskState; reason: string | null; latest: Artifact | null }
  | { kind: "refused"; code: string; message: string }
  | { kind: "timeout" }
  | { kind: "aborted" };
export type Artifact = Pick<ArtifactView, "version" | "content" | "message_id">;

/** Reads the task's state: an outcome once there is one, else null. */
function check(d: Daemon, taskId: string, requestId: string, baseline: number): Outcome | null {
  const detail = taskDetail(d, taskId);
  const arts = detail.artifacts;
  const next = arts.find((a) => a.version > baseline);
  if (next) {
    return {
      kind: "artifact",
      version: next.version,
      content: next.content,
      message_id: next.message_id,
    };
  }
  const state = detail.task.state;
  if (isTerminal(state)) {
    const last = detail.events.at(-1)?.data as { reason?: string; note?: string } | undefined;
    return {
      kind: "ended",
      state,
      reason: last?.reason ?? last?.note ?? null,
      latest: arts.at(-1) ?? null,
    };
  }
  const sent = d.store.messages.outbound(requestId);
  if (sent?.state === "failed") {
    return {
      kind: "refused",
      code: sent.state_code ?? "unavailable",
      message: sent.state_reason ?? "the relay refused",
    };
  }
  return null;
}

/** Waits for the first artifact after `baseline`, an end state, a refusal, timeout or abort. */
export function awaitOutcome(
  d: Daemon,
  taskId: string,
  requestId: string,
  baseline: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const finish = (o: Outcome) => {
      clearTimeout(timer);
      clearInterval(poll);
      unsubscribe();
      signal.removeEventListener("abort", onAbort);
      resolve(o);
    };
    const look = () => {
      try {
        const o = check(d, taskId, requestId, baseline);
        if (o) finish(o);
      } catch (err) {
        log.warn("checking a delegated task failed", { task: taskId, err });
      }
    };
    const onAbort = () => finish({ kind: "aborted" });
    const timer = setTimeout(() => finish({ kind: "timeout" }), timeoutMs);
    const poll = setInterval(look, 2_000); // a safety net; events wake us first
    const unsubscribe = d.events.subscribe((e: DaemonEvent) => {
      if (e.data.id === taskId || e.data.id === requestId || e.data.task_id === taskId) look();
    });
    signal.addEventListener("abort", onAbort);
    if (signal.aborted) onAbort();
    else look();
  });
}
