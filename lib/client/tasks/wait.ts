/**
 * Waiting on a task's state (`GET /v1/tasks/:id?wait=…`, the SDK's `waitForTask`, MCP
 * `wait_for_task`): a delegating agent blocks until the task moves on instead of polling.
 */
import type { TaskState } from "../../protocol/mod.ts";
import type { TaskDetail } from "../../protocol/views.ts";
import type { Daemon } from "../daemon.ts";
import { taskDetail } from "./views.ts";

/** What ends a wait: the state leaving `from`, or reaching one of `states` (either, if both). */
export interface TaskWaitCondition {
  from?: TaskState | undefined;
  states?: readonly TaskState[] | undefined;
}

/** True when `state` meets the condition (never, when the condition names nothing). */
export function waitIsOver(state: TaskState, cond: TaskWaitCondition): boolean {
  return (cond.states?.includes(state) ?? false) ||
    (cond.from !== undefined && state !== cond.from);
}

/**
 * The task once the condition holds, or after `waitSeconds` as it is then (the caller compares
 * states). Real time, not the daemon's clock: this bounds how long a socket stays open.
 */
export async function waitForTaskState(
  d: Daemon,
  taskId: string,
  cond: TaskWaitCondition,
  waitSeconds: number,
): Promise<TaskDetail> {
  let detail = taskDetail(d, taskId);
  const until = Date.now() + waitSeconds * 1000;
  while (!waitIsOver(detail.task.state, cond) && Date.now() < until) {
    // Subscribed synchronously after the read above, so no change can slip in between.
    const woke = await d.events.waitFor(
      (e) => e.type === "task" && e.data.id === taskId,
      until - Date.now(),
    );
    if (!woke) break;
    detail = taskDetail(d, taskId);
  }
  return detail;
}
