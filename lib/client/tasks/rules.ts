/** Pure task rules of the daemon: API action names, roles, and payloads as state-machine events. */
import { redactPayload } from "../files/views.ts";
import type { TaskEvent, TaskMessageType, TaskRole } from "../../protocol/mod.ts";
import type { TaskRow } from "../store/mod.ts";

/** Task actions the API exposes, by route name. */
export const TASK_ACTIONS = {
  accept: "task_accept",
  decline: "task_decline",
  artifacts: "artifact_submit",
  revisions: "revision_request",
  complete: "task_complete",
  cancel: "task_cancel",
  progress: "task_progress",
  fail: "task_fail",
  claim: "task_claim",
} as const satisfies Record<string, TaskMessageType>;

/** A route name of {@link TASK_ACTIONS}. */
export type TaskActionName = keyof typeof TASK_ACTIONS;

/** The role `handle` plays in a task, or null when it is no party. */
export function roleOf(
  row: Pick<TaskRow, "requester" | "worker">,
  handle: string,
): TaskRole | null {
  return handle === row.requester ? "requester" : handle === row.worker ? "worker" : null;
}

/**
 * What the audit log keeps of a payload (artifact content lives in `artifacts`); an offer's
 * `task_request` keeps its `candidates` too.
 */
export function eventData(
  type: TaskMessageType,
  payload: Record<string, unknown>,
  candidates?: readonly string[],
) {
  // Files: the audit keeps what each file is, never its key (files/views.ts).
  if (type === "artifact_submit") {
    const { content: _content, ...rest } = payload;
    return redactPayload(rest);
  }
  // An offer's candidates are in its header, not its payload: the audit keeps them beside it,
  // on both sides, or a replay (refusal.ts) would rebuild the offer as a direct task.
  if (candidates) return { ...redactPayload(payload), candidates: [...candidates] };
  return redactPayload(payload);
}

/**
 * A task envelope's payload as an event of the state machine. `worker` is the task's worker on
 * this daemon: a `task_assign` naming somebody else withdraws the offer here.
 */
export function eventOf(
  type: TaskMessageType,
  id: string,
  role: TaskRole,
  at: string,
  payload: Record<string, unknown>,
  worker?: string,
): TaskEvent {
  const event: TaskEvent = { id, type, role, at };
  if (type === "task_request") {
    event.max_revisions = payload.max_revisions as number | undefined;
    event.deadline = (payload.deadline as string | undefined) ?? null;
    // An offer's candidates are in its header; the audit log keeps them beside the payload.
    if (Array.isArray(payload.candidates)) event.candidates = payload.candidates as string[];
  }
  if (type === "task_assign") {
    // A re-offer names the lapsed worker (who withdraws); an assignment names the winner.
    if (typeof payload.lapsed === "string") {
      event.lapsed = payload.lapsed;
      event.withdrawn = payload.lapsed === worker;
    } else event.withdrawn = payload.worker !== worker;
  }
  if (type === "artifact_submit") event.version = payload.version as number;
  if (type === "revision_request") event.version = payload.artifact_version as number;
  return event;
}
