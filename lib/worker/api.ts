/**
 * The worker's view of its daemon: the few loopback routes it needs, behind one interface so
 * the runner can be tested against an in-memory fake and the real thing is a thin adapter over
 * the SDK. New routes (`progress`, `fail`, design §11) are called through the SDK's generic
 * `request()`, so this file is their one home on the client side.
 */
import type { FileAttachment, TaskDetail, TaskferryClient, TaskView } from "../sdk/mod.ts";
import type { WorkerFilesApi } from "./files.ts";

/** The body of `POST /v1/tasks/{id}/artifacts` as the worker sends it. */
export interface SubmitInput {
  agent: string;
  content: string;
  content_type: string;
  name?: string;
  note?: string;
  files?: FileAttachment[];
}

/** The body of `POST /v1/tasks/{id}/progress`. */
export interface ProgressInput {
  text: string;
  queue_position?: number;
  agent?: string;
}

/** The body of `POST /v1/tasks/{id}/fail`; `code` matches `^[a-z0-9_]{1,64}$`. */
export interface FailInput {
  reason: string;
  code?: string;
}

/** Everything the worker runtime asks of the daemon (`files`: see files.ts; fakes may omit it). */
export interface WorkerApi {
  files?: WorkerFilesApi;
  /** Tasks where `agent` is a party (gated tasks are hidden from it by the daemon). */
  tasks(agent: string): Promise<TaskView[]>;
  /** One task with its timeline and artifacts. */
  task(id: string): Promise<TaskDetail>;
  /** The worker accepts a requested task. */
  accept(id: string, agent: string): Promise<void>;
  /** Claims an offered task (design §13); the requester's daemon decides. Fakes may omit it. */
  claim?(id: string, agent: string): Promise<void>;
  /** Submits the next artifact version. */
  submit(id: string, input: SubmitInput): Promise<void>;
  /** Sends a `task_progress` (no state change). */
  progress(id: string, input: ProgressInput): Promise<void>;
  /** Sends a `task_fail` (terminal). */
  fail(id: string, input: FailInput): Promise<void>;
  /** The inbox cursor as of now (items after it are new). */
  inboxHead(agent: string): Promise<number>;
  /**
   * Waits up to `waitSeconds` for inbox items after `after`; returns them and the new cursor.
   * Resolves early (with no items) when `signal` aborts.
   */
  waitInbox(
    agent: string,
    after: number,
    waitSeconds: number,
    signal?: AbortSignal,
  ): Promise<
    { items: { id: string; type: string; task_id?: string; seq?: number }[]; after: number }
  >;
}

/** The daemon's answer to `progress`/`fail`: the routes answer 202 with a small JSON body. */
type Accepted = Record<string, unknown>;

/** A {@link WorkerApi} over the loopback API, through `client`. */
export function loopbackWorkerApi(client: TaskferryClient): WorkerApi {
  return {
    tasks: (agent) => client.tasks({ agent }),
    task: (id) => client.task(id),
    files: {
      task: (id) => client.task(id),
      // The readable closes the file once read to its end.
      postFile: async (name, path) =>
        await client.postFile(name, (await Deno.open(path, { read: true })).readable),
      downloadFile: async (id, agent) => (await client.downloadFile(id, agent)).body!,
    },
    accept: async (id, agent) => void await client.acceptTask(id, { agent }),
    claim: async (id, agent) => void await client.claimTask(id, { agent }),
    submit: async (id, input) => void await client.submitArtifact(id, input),
    progress: async (id, input) =>
      void await client.request<Accepted>("POST", `/v1/tasks/${id}/progress`, input),
    fail: async (id, input) =>
      void await client.request<Accepted>("POST", `/v1/tasks/${id}/fail`, input),
    inboxHead: async (agent) => (await client.inbox({ agent, after: "latest" })).next_after,
    waitInbox: async (agent, after, waitSeconds, signal) => {
      try {
        const page = await client.inbox({ agent, after, wait: waitSeconds }, signal);
        return { items: page.items, after: page.next_after };
      } catch (err) {
        if (signal?.aborted) return { items: [], after };
        throw err;
      }
    },
  };
}
