/**
 * An in-memory fake of the worker's daemon interface (lib/worker/api.ts): tasks with the real
 * state machine's moves for the worker's actions, an inbox cursor that wakes waiters, gated
 * tasks hidden from the agent until approved, and a record of every progress, submit and fail.
 * Tests drive it as the requester and the owner would.
 */
import { ApiError, type ArtifactView, type TaskDetail, type TaskView } from "../../lib/sdk/mod.ts";
import type { FailInput, ProgressInput, SubmitInput, WorkerApi } from "../../lib/worker/api.ts";
import type { TaskState } from "../../lib/protocol/mod.ts";

export const AGENT = "@bob/writer";
const REQUESTER = "@alice/requester";

interface FakeTask {
  view: TaskView;
  events: TaskDetail["events"];
  artifacts: ArtifactView[];
}

/** The fake daemon. */
export class FakeDaemon implements WorkerApi {
  readonly store = new Map<string, FakeTask>();
  readonly progressLog: { id: string; input: ProgressInput }[] = [];
  readonly submits: { id: string; input: SubmitInput }[] = [];
  readonly fails: { id: string; input: FailInput }[] = [];
  /** Make the next n submits fail as if the daemon were down. */
  failSubmits = 0;
  #seq = 0;
  #n = 0;
  #inbox: { id: string; type: string; task_id?: string; seq: number }[] = [];
  #listeners = new Set<() => void>();

  /** Creates a task as the requester would (gated: waits for `approve`). */
  addTask(
    input: {
      title?: string;
      instructions?: string;
      inputs?: Record<string, unknown>;
      gated?: boolean;
    } = {},
  ): string {
    const id = `task_${String(++this.#n).padStart(26, "0")}`;
    const at = new Date(Date.now() + this.#n).toISOString();
    this.store.set(id, {
      view: {
        id,
        title: input.title ?? `Task ${this.#n}`,
        instructions: input.instructions ?? "Write something.",
        ...(input.inputs ? { inputs: input.inputs } : {}),
        requester: REQUESTER,
        worker: AGENT,
        state: "requested",
        artifact_version: 0,
        revisions: 0,
        max_revisions: 3,
        deadline: null,
        gate: input.gated ? "pending" : "none",
        created_at: at,
        updated_at: at,
        local_roles: { [AGENT]: "worker" },
        allowed_actions: {},
      },
      events: [],
      artifacts: [],
    });
    this.#event(id, "task_request", REQUESTER, {});
    if (!input.gated) this.#push(id, "task_request");
    else this.#changed();
    return id;
  }

  approve(id: string) {
    this.#get(id).view.gate = "approved";
    this.#push(id, "task_request");
  }

  cancel(id: string) {
    this.#move(id, "cancelled");
    this.#event(id, "task_cancel", REQUESTER, {});
    this.#push(id, "task_cancel");
  }

  requestRevision(id: string, feedback: string) {
    const t = this.#get(id);
    if (t.view.state !== "submitted") throw new Error(`cannot revise in ${t.view.state}`);
    t.view.revisions++;
    this.#move(id, "revision_requested");
    this.#event(id, "revision_request", REQUESTER, {
      feedback,
      artifact_version: t.view.artifact_version,
    });
    this.#push(id, "revision_request");
  }

  state(id: string) {
    return this.#get(id).view.state;
  }

  artifacts(id: string) {
    return this.#get(id).artifacts;
  }

  /** Resolves when `check` holds (re-checked on every change and every 20 ms), or throws. */
  async until<T>(what: string, check: () => T | undefined | null | false, ms = 10_000): Promise<T> {
    const deadline = Date.now() + ms;
    while (true) {
      const v = check();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#listeners.delete(done);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(done, 20);
        this.#listeners.add(done);
      });
    }
  }

  // WorkerApi
  tasks(agent: string): Promise<TaskView[]> {
    return Promise.resolve(
      [...this.store.values()].filter((t) =>
        t.view.worker === agent && t.view.gate !== "pending" && t.view.gate !== "rejected"
      ).map((t) => structuredClone(t.view)),
    );
  }
  task(id: string): Promise<TaskDetail> {
    const t = this.#get(id);
    return Promise.resolve(
      structuredClone({ task: t.view, events: t.events, artifacts: t.artifacts, progress: [] }),
    );
  }
  accept(id: string): Promise<void> {
    const t = this.#get(id);
    if (t.view.gate === "pending") throw new ApiError(409, "gate_pending", "waits for the owner");
    if (t.view.state !== "requested") throw new ApiError(409, "illegal_transition", t.view.state);
    this.#move(id, "accepted");
    this.#event(id, "task_accept", AGENT, {});
    return Promise.resolve();
  }
  submit(id: string, input: SubmitInput): Promise<void> {
    if (this.failSubmits > 0) {
      this.failSubmits--;
      return Promise.reject(new ApiError(0, "unavailable", "daemon down (simulated)"));
    }
    const t = this.#get(id);
    this.#runnable(t);
    const version = t.view.artifact_version + 1;
    t.artifacts.push({
      version,
      content: input.content,
      content_type: input.content_type,
      name: input.name ?? null,
      note: input.note ?? null,
      message_id: `msg_${version}`,
      created_at: new Date().toISOString(),
    });
    t.view.artifact_version = version;
    this.submits.push({ id, input });
    this.#event(id, "artifact_submit", AGENT, { version });
    this.#move(id, "submitted");
    return Promise.resolve();
  }
  progress(id: string, input: ProgressInput): Promise<void> {
    this.#runnable(this.#get(id));
    this.progressLog.push({ id, input });
    this.#changed();
    return Promise.resolve();
  }
  fail(id: string, input: FailInput): Promise<void> {
    this.#runnable(this.#get(id));
    if (input.code !== undefined && !/^[a-z0-9_]{1,64}$/.test(input.code)) {
      throw new ApiError(400, "validation_failed", "bad code");
    }
    this.fails.push({ id, input });
    this.#event(id, "task_fail", AGENT, { ...input });
    this.#move(id, "failed");
    return Promise.resolve();
  }
  inboxHead(): Promise<number> {
    return Promise.resolve(this.#seq);
  }
  async waitInbox(_agent: string, after: number, waitSeconds: number, signal?: AbortSignal) {
    const deadline = Date.now() + waitSeconds * 1000;
    while (!signal?.aborted && Date.now() < deadline) {
      const items = this.#inbox.filter((i) => i.seq > after);
      if (items.length) return { items, after: items.at(-1)!.seq };
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#listeners.delete(done);
          signal?.removeEventListener("abort", done);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
        this.#listeners.add(done);
        signal?.addEventListener("abort", done);
      });
    }
    return { items: [], after };
  }

  #get(id: string): FakeTask {
    const t = this.store.get(id);
    if (!t) throw new ApiError(404, "task_not_found", id);
    return t;
  }
  #runnable(t: FakeTask) {
    if (!["accepted", "revision_requested"].includes(t.view.state)) {
      throw new ApiError(409, "illegal_transition", `not allowed in ${t.view.state}`);
    }
  }
  #move(id: string, state: TaskState) {
    const t = this.#get(id);
    t.view.state = state;
    t.view.updated_at = new Date().toISOString();
    this.#changed();
  }
  #event(id: string, type: string, actor: string, data: Record<string, unknown>) {
    const t = this.#get(id);
    t.events.push({
      seq: t.events.length + 1,
      event_id: `msg_${id}_${t.events.length}`,
      type,
      actor,
      at: new Date().toISOString(),
      data,
      hash: "",
      prev_hash: "",
      delivery_state: null,
    });
  }
  #push(taskId: string, type: string) {
    this.#inbox.push({ id: `msg_${this.#seq + 1}`, type, task_id: taskId, seq: ++this.#seq });
    this.#changed();
  }
  #changed() {
    for (const l of [...this.#listeners]) l();
  }
}
