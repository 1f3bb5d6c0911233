/**
 * The task calls of the loopback API: create, list, read and every task action. A
 * base of TaskferryClient, which supplies the transport; each create takes `CallOptions` (its
 * `Idempotency-Key`).
 */
import type {
  ArtifactView,
  FileAttachment,
  QueuedMessage,
  TaskDetail,
  TaskView,
} from "../protocol/views.ts";
import type { TaskState } from "../protocol/mod.ts";
import { ApiError, type CallOptions, type Query } from "./http.ts";

/** Task calls over some transport. */
export abstract class TaskCalls {
  /** One JSON call (see TaskferryClient.request). */
  abstract request<T>(
    method: string,
    path: string,
    body?: unknown,
    query?: Query,
    options?: CallOptions | AbortSignal,
  ): Promise<T>;

  createTask(input: {
    from: string;
    to: string;
    title: string;
    instructions: string;
    inputs?: Record<string, unknown>;
    deadline?: string;
    max_revisions?: number;
    files?: FileAttachment[];
  }, options?: CallOptions) {
    return this.request<{ task: TaskView; message: QueuedMessage }>(
      "POST",
      "/v1/tasks",
      input,
      {},
      options,
    );
  }
  async tasks(query: { agent?: string; state?: string } = {}): Promise<TaskView[]> {
    return (await this.request<{ tasks: TaskView[] }>("GET", "/v1/tasks", undefined, query)).tasks;
  }
  task(id: string): Promise<TaskDetail> {
    return this.request("GET", `/v1/tasks/${id}`);
  }
  async artifact(id: string, version: number): Promise<ArtifactView> {
    return (await this.request<{ artifact: ArtifactView }>(
      "GET",
      `/v1/tasks/${id}/artifacts/${version}`,
    )).artifact;
  }
  private action(
    id: string,
    action: string,
    body: Record<string, unknown>,
    options?: CallOptions,
  ) {
    return this.request<{ task: TaskView; message: QueuedMessage }>(
      "POST",
      `/v1/tasks/${id}/${action}`,
      Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)),
      {},
      options,
    );
  }
  acceptTask(id: string, input: { agent?: string; note?: string } = {}, options?: CallOptions) {
    return this.action(id, "accept", input, options);
  }
  declineTask(id: string, input: { agent?: string; reason?: string } = {}, options?: CallOptions) {
    return this.action(id, "decline", input, options);
  }
  submitArtifact(
    id: string,
    input: {
      content: string;
      agent?: string;
      content_type?: string;
      name?: string;
      note?: string;
      files?: FileAttachment[];
    },
    options?: CallOptions,
  ) {
    return this.action(id, "artifacts", input, options);
  }
  requestRevision(
    id: string,
    input: { feedback: string; agent?: string; artifact_version?: number },
    options?: CallOptions,
  ) {
    return this.action(id, "revisions", input, options);
  }
  completeTask(
    id: string,
    input: { agent?: string; note?: string; artifact_version?: number } = {},
    options?: CallOptions,
  ) {
    return this.action(id, "complete", input, options);
  }
  cancelTask(id: string, input: { agent?: string; reason?: string } = {}, options?: CallOptions) {
    return this.action(id, "cancel", input, options);
  }
  /**
   * As a candidate of an offered task, claims it (a signed `task_claim` to the requester, whose
   * daemon assigns the first valid claim it receives).
   */
  claimTask(id: string, input: { agent?: string; note?: string } = {}, options?: CallOptions) {
    return this.action(id, "claim", input, options);
  }
  /** As the assigned worker, renews the lease on an offered task (a `heartbeat` progress line). */
  heartbeat(id: string, input: { agent?: string } = {}, options?: CallOptions) {
    return this.action(id, "heartbeat", input, options);
  }
  /** As the worker, reports progress (no state change; `accepted` or `revision_requested`). */
  progress(
    id: string,
    text: string,
    opts: { agent?: string; queue_position?: number } = {},
    options?: CallOptions,
  ) {
    return this.action(id, "progress", { text, ...opts }, options);
  }
  /** As the worker, gives up: the task becomes `failed` (terminal) with `reason` and `code`. */
  failTask(
    id: string,
    reason: string,
    code?: string,
    opts: { agent?: string } = {},
    options?: CallOptions,
  ) {
    return this.action(id, "fail", { reason, code, ...opts }, options);
  }
  /**
   * Waits (long poll) until the task reaches one of `states`, or, without `states`, until it
   * leaves the state it is in now; returns the task then. Throws `ApiError("timeout")` after
   * `timeoutMs` (default 30 s).
   */
  async waitForTask(
    id: string,
    opts: { states?: TaskState[]; timeoutMs?: number } = {},
  ): Promise<TaskDetail> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    const states = opts.states?.length ? opts.states.join(",") : undefined;
    const from = states ? undefined : (await this.task(id)).task.state;
    while (Date.now() < deadline) {
      const wait = Math.max(1, Math.min(25, Math.ceil((deadline - Date.now()) / 1000)));
      const detail = await this.request<TaskDetail>("GET", `/v1/tasks/${id}`, undefined, {
        wait,
        from,
        states,
      });
      const s = detail.task.state;
      if (from ? s !== from : opts.states!.includes(s)) return detail;
    }
    throw new ApiError(504, "timeout", `task ${id} did not change within the wait`);
  }
  approveTask(id: string): Promise<TaskDetail> {
    return this.request("POST", `/v1/tasks/${id}/approve`, {});
  }
  rejectTask(id: string, reason?: string): Promise<TaskDetail> {
    return this.request("POST", `/v1/tasks/${id}/reject`, reason ? { reason } : {});
  }
}
