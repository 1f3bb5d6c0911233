/**
 * An A2A request handler (the SDK's `A2ARequestHandler` interface) whose tasks are TaskFerry
 * tasks: each call becomes loopback API calls as one caller, for one local agent talking to one
 * connected peer. The SDK's JSON-RPC transport in front of it does the wire work (parsing,
 * method names of 1.0 and 0.3, error codes, serialisation); this file is only the mapping.
 *
 * The SDK's `DefaultRequestHandler` does not fit: it keeps tasks in its own store and runs an
 * executor in this process, while here the daemon holds the task and the work happens on
 * another machine, surviving restarts and being readable (and resumable) from the daemon alone.
 */
import {
  type AgentCard,
  type Message,
  type Part,
  type StreamResponse,
  type Task,
  type TaskPushNotificationConfig,
  TaskState,
} from "@a2a-js/sdk";
import type { A2ARequestHandler } from "@a2a-js/sdk/server";
import {
  ContentTypeNotSupportedError,
  ExtendedAgentCardNotConfiguredError,
  PushNotificationNotSupportedError,
  RequestMalformedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnsupportedOperationError,
} from "@a2a-js/sdk/errors";
import type { TaskDetail } from "../sdk/mod.ts";
import type { TaskState as TfState } from "../protocol/mod.ts";
import { taskOf, updatesBetween } from "./convert.ts";
import { mapped } from "./errors.ts";
import type { Loopback } from "./loopback.ts";
import { A2A_STATE, endsStream, isTerminalA2A } from "./states.ts";

type Params<M extends keyof A2ARequestHandler> = Parameters<A2ARequestHandler[M]>[0];

/** Who talks to whom, for one request. */
export interface Target {
  /** The connected remote agent this endpoint stands for. */
  peer: string;
  /** The local agent acting as requester. */
  agent: string;
  loopback: Loopback;
  card: AgentCard;
  /** How long a blocking `SendMessage` waits for an artifact or an end, ms. */
  waitMs: number;
  /** Aborted when the caller goes away: stops streams. */
  signal: AbortSignal;
}

/**
 * Texts an A2A client may send on an `input-required` task to accept the artifact (compared
 * lowercased, without surrounding spaces and final punctuation). Anything else is feedback:
 * a revision request. An explicit data part `{"action": "accept"}` accepts too.
 */
export const ACCEPT_PHRASES: ReadonlySet<string> = new Set([
  "accept",
  "accepted",
  "approve",
  "approved",
  "complete",
  "done",
  "lgtm",
  "looks good",
  "ok",
  "okay",
  "ship it",
  "thanks",
  "thank you",
  "yes",
]);

/** The text and data of a message; file parts are refused (TaskFerry carries no files yet). */
function contentOf(parts: Part[]): { text: string; data: unknown[] } {
  const texts: string[] = [];
  const data: unknown[] = [];
  for (const p of parts) {
    const c = p.content;
    if (c?.$case === "text") texts.push(c.value);
    else if (c?.$case === "data") data.push(c.value);
    else {
      throw new ContentTypeNotSupportedError(
        "file parts are not supported yet: send text parts (and data parts for structured input)",
      );
    }
  }
  return { text: texts.join("\n"), data };
}

function isAccept(text: string, data: unknown[]): boolean {
  const explicit = data.some((d) =>
    typeof d === "object" && d !== null && ["accept", "complete"].includes(
      String((d as { action?: unknown }).action),
    )
  );
  return explicit || ACCEPT_PHRASES.has(text.trim().toLowerCase().replace(/[.!]+$/, ""));
}

function titleOf(text: string): string {
  const line = text.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
  return (line || "Task").slice(0, 200);
}

const a2aState = (d: TaskDetail) => A2A_STATE[d.task.state as TfState];

/** The TaskFerry-backed A2A request handler for one {@link Target}. */
export class TaskferryRequestHandler implements A2ARequestHandler {
  constructor(private readonly t: Target) {}

  getAgentCard(): Promise<AgentCard> {
    return Promise.resolve(this.t.card);
  }

  getAuthenticatedExtendedAgentCard(): Promise<AgentCard> {
    return Promise.reject(new ExtendedAgentCardNotConfiguredError());
  }

  /** The task, if it is this agent's task for this peer (anything else is "not found"). */
  private async read(id: string): Promise<TaskDetail> {
    if (!/^task_[0-9A-Za-z]{1,64}$/.test(id)) {
      throw new TaskNotFoundError(`no task ${JSON.stringify(id)}: ids look like task_…`);
    }
    const d = await mapped(() => this.t.loopback.api.task(id));
    if (d.task.requester !== this.t.agent || d.task.worker !== this.t.peer) {
      throw new TaskNotFoundError(`no task ${id} between ${this.t.agent} and ${this.t.peer}`);
    }
    return d;
  }

  /** Creates a task, or continues one (`message.taskId`): a revision or an accept. */
  private async start(params: Params<"sendMessage">): Promise<TaskDetail> {
    const msg: Message | undefined = params.message;
    if (!msg) throw new RequestMalformedError("message is required");
    const { text, data } = contentOf(msg.parts);
    if (text.trim() === "" && data.length === 0) {
      throw new RequestMalformedError("the message has no text or data part");
    }
    const api = this.t.loopback.api;
    const agent = this.t.agent;
    if (msg.taskId) {
      const d = await this.read(msg.taskId);
      const state = a2aState(d);
      if (state !== TaskState.TASK_STATE_INPUT_REQUIRED) {
        throw new UnsupportedOperationError(
          isTerminalA2A(state)
            ? `task ${d.task.id} is ${d.task.state}: it takes no more messages (omit taskId to start a new task)`
            : `task ${d.task.id} is ${d.task.state}: ${this.t.peer} is on it; follow up once it is input-required`,
        );
      }
      if (isAccept(text, data)) {
        await mapped(() => api.completeTask(d.task.id, { agent }));
      } else {
        const feedback = text.trim() !== ""
          ? text
          : JSON.stringify(data.length === 1 ? data[0] : data);
        await mapped(() => api.requestRevision(d.task.id, { agent, feedback }));
      }
      return await this.read(d.task.id);
    }
    const inputs: Record<string, unknown> = {};
    if (data.length > 0) inputs.data = data.length === 1 ? data[0] : data;
    if (msg.contextId) inputs.a2a = { context_id: msg.contextId };
    const created = await mapped(() =>
      api.createTask({
        from: agent,
        to: this.t.peer,
        title: titleOf(text || "Structured task"),
        instructions: text.trim() !== "" ? text : "See the data in the inputs.",
        ...(Object.keys(inputs).length > 0 ? { inputs } : {}),
      })
    );
    return await this.read(created.task.id);
  }

  /** Stream events after `start` until the task ends or needs the client. */
  private async *follow(start: TaskDetail): AsyncGenerator<StreamResponse> {
    if (endsStream(a2aState(start))) return;
    let prev = start;
    for await (const d of this.t.loopback.watch(start.task.id, this.t.agent, this.t.signal)) {
      yield* updatesBetween(prev, d);
      prev = d;
      if (endsStream(a2aState(d))) return;
    }
  }

  async sendMessage(params: Params<"sendMessage">): Promise<Task> {
    const start = await this.start(params);
    const historyLength = params.configuration?.historyLength;
    if (params.configuration?.returnImmediately) return taskOf(start, historyLength);
    // Blocking: until an artifact waits for review, the task ends, or the wait is over (the
    // task is then returned as it is, still working; GetTask or SubscribeToTask go on).
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.t.waitMs);
    const stop = () => ctl.abort();
    this.t.signal.addEventListener("abort", stop);
    let last = start;
    try {
      if (!endsStream(a2aState(start))) {
        for await (const d of this.t.loopback.watch(start.task.id, this.t.agent, ctl.signal)) {
          last = d;
          if (endsStream(a2aState(d))) break;
        }
      }
    } finally {
      clearTimeout(timer);
      this.t.signal.removeEventListener("abort", stop);
    }
    return taskOf(last, historyLength);
  }

  async *sendMessageStream(params: Params<"sendMessage">): AsyncGenerator<StreamResponse> {
    const start = await this.start(params);
    yield { payload: { $case: "task", value: taskOf(start) } };
    yield* this.follow(start);
  }

  async getTask(params: Params<"getTask">): Promise<Task> {
    return taskOf(await this.read(params.id), params.historyLength);
  }

  async cancelTask(params: Params<"cancelTask">): Promise<Task> {
    const d = await this.read(params.id);
    if (isTerminalA2A(a2aState(d))) {
      throw new TaskNotCancelableError(`task ${d.task.id} is already ${d.task.state}`);
    }
    const reason = typeof params.metadata?.reason === "string" ? params.metadata.reason : undefined;
    await mapped(
      () =>
        this.t.loopback.api.cancelTask(d.task.id, {
          agent: this.t.agent,
          ...(reason ? { reason } : {}),
        }),
      { cancel: true },
    );
    return taskOf(await this.read(d.task.id));
  }

  async *resubscribe(params: Params<"resubscribe">): AsyncGenerator<StreamResponse> {
    const d = await this.read(params.id);
    if (isTerminalA2A(a2aState(d))) {
      throw new UnsupportedOperationError(
        `task ${d.task.id} is ${d.task.state}: nothing to follow`,
      );
    }
    yield { payload: { $case: "task", value: taskOf(d) } };
    yield* this.follow(d);
  }

  async listTasks(params: Params<"listTasks">) {
    const all = await mapped(() => this.t.loopback.api.tasks({ agent: this.t.agent }));
    const mine = all.filter((t) => t.worker === this.t.peer && t.requester === this.t.agent);
    const size = Math.min(Math.max(params.pageSize ?? 50, 1), 100);
    const tasks = await Promise.all(
      mine.slice(0, size).map(async (t) =>
        taskOf(await mapped(() => this.t.loopback.api.task(t.id)), params.historyLength ?? 0)
      ),
    );
    return { tasks, nextPageToken: "", pageSize: size, totalSize: mine.length };
  }

  createTaskPushNotificationConfig(): Promise<TaskPushNotificationConfig> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }
  getTaskPushNotificationConfig(): Promise<TaskPushNotificationConfig> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }
  listTaskPushNotificationConfigs(): Promise<never> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }
  deleteTaskPushNotificationConfig(): Promise<void> {
    return Promise.reject(new PushNotificationNotSupportedError());
  }
}
