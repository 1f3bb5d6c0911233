/**
 * A requester's task events over SSE (`GET /v1/events`: `task` and `task_progress` events), for
 * the worker suite:
 * `when(id, type)` resolves with the wall-clock time the event for task `id` and envelope
 * `type` arrived (wall clock, so it compares with times printed by other processes).
 * @module
 */
import { EventWatch } from "./event_watch.ts";

/** Milliseconds since the epoch, sub-millisecond. */
export const wall = (): number => performance.timeOrigin + performance.now();

/** One agent's task events over SSE, keyed `<task id>#<envelope type>`. */
export class TaskEvents extends EventWatch {
  constructor(url: string, token: string, agent: string) {
    super(url, token, agent, (event, data) => {
      // Progress lines come as their own `task_progress` event (no state change).
      if (event === "task_progress") return `${data.task_id}#task_progress`;
      return event === "task" ? `${data.id}#${data.type}` : null;
    }, wall);
  }

  /** The arrival time of `type` for task `id` (waits up to `timeoutMs`). */
  of(id: string, type: string, timeoutMs = 30_000): Promise<number> {
    return this.when(`${id}#${type}`, timeoutMs);
  }
}
