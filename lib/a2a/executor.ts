/**
 * The inbound direction (design §15): one TaskFerry task round handed to a local A2A server
 * agent with the official `@a2a-js/sdk` client. The worker runtime (`taskferry worker --a2a
 * URL`) calls {@link runA2ARound} per round: status messages become progress, the agent's
 * artifacts become the TaskFerry artifact, a revision continues the same A2A task (or, when
 * the agent already closed it, a new task in the same A2A context), and aborting the signal
 * cancels the A2A task.
 */
import {
  type Message,
  type Part,
  Role,
  type StreamResponse,
  type Task,
  TaskState,
  taskStateToJSON,
} from "@a2a-js/sdk";
import { type Client, ClientFactory, ClientFactoryOptions } from "@a2a-js/sdk/client";
import { JsonRpcTransportFactory } from "@a2a-js/sdk/client";
import { DefaultAgentCardResolver } from "@a2a-js/sdk/client";
import { endsStream, isTerminalA2A, ROUND_OUTCOME } from "./states.ts";

/** One round of a TaskFerry task for a local A2A agent. */
export interface A2ARound {
  /** The agent's base URL; its card is at `{url}/.well-known/agent-card.json`. */
  url: string;
  /** What the agent is asked: the instructions, or on a revision the requester's feedback. */
  prompt: string;
  /** The TaskFerry task id (sent along in the message metadata). */
  taskId: string;
  /** 0 for the first round, then the revision number. */
  revision: number;
  /** The A2A task and context of the previous round, to continue them on a revision. */
  previous?: A2ARef;
  /** Aborting cancels the A2A task (`CancelTask`) and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called with each status message the agent sends while it works. */
  onProgress?: (text: string) => void | Promise<void>;
  /** The fetch the SDK client uses (to add headers, e.g. a bearer token). */
  fetch?: typeof fetch;
}

/** Where a round ran on the A2A side. */
export interface A2ARef {
  taskId: string;
  contextId: string;
}

/** How a round ended. */
export interface A2ARoundResult {
  /** `artifact`: submit `text` as the next version; `fail`: send `task_fail` with `text`. */
  outcome: "artifact" | "fail";
  text: string;
  /** The A2A state the agent ended in, e.g. `TASK_STATE_COMPLETED`. */
  state: string;
  /** Pass as `previous` to the next round. */
  a2a: A2ARef;
}

const textOf = (parts: Part[] | undefined) =>
  (parts ?? []).flatMap((p) => p.content?.$case === "text" ? [p.content.value] : []).join("");

/** What the stream or the polled task told us so far. */
class Tracker {
  ref: A2ARef = { taskId: "", contextId: "" };
  state: TaskState = TaskState.TASK_STATE_UNSPECIFIED;
  statusText = "";
  reply: string | null = null;
  /** Artifact texts by id, in first-seen order (chunks appended per the A2A `append` flag). */
  readonly artifacts = new Map<string, string>();
  /** Artifacts of earlier rounds on the same A2A task: not this round's answer. */
  readonly baseline = new Map<string, string>();

  task(t: Task) {
    this.ref = { taskId: t.id, contextId: t.contextId };
    for (const a of t.artifacts) this.artifacts.set(a.artifactId, textOf(a.parts));
    if (t.status) this.status(t.status.state, t.status.message);
  }
  status(state: TaskState, message: Message | undefined) {
    this.state = state;
    if (message) this.statusText = textOf(message.parts);
  }
  result(): A2ARoundResult {
    const outcome = this.reply !== null ? "artifact" : ROUND_OUTCOME[this.state];
    const artifacts = [...this.artifacts].filter(([id, text]) => this.baseline.get(id) !== text)
      .map(([, text]) => text).join("\n\n");
    const text = this.reply ?? (outcome === "artifact" ? artifacts || this.statusText : (
      this.statusText || `the A2A agent ended the task ${taskStateToJSON(this.state)}`
    ));
    return {
      outcome: outcome === "running" ? "fail" : outcome,
      text,
      state: taskStateToJSON(this.state),
      a2a: this.ref,
    };
  }
}

async function clientFor(round: A2ARound): Promise<Client> {
  const fetchImpl = round.fetch ?? fetch;
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    }),
  );
  return await factory.createFromUrl(round.url.endsWith("/") ? round.url : `${round.url}/`);
}

/** The message of this round: on the previous A2A task while it is open, else a new one. */
async function messageFor(client: Client, round: A2ARound, tracker: Tracker): Promise<Message> {
  let taskId = "";
  const prev = round.previous;
  if (prev?.taskId) {
    const t = await client.getTask({ tenant: "", id: prev.taskId }).catch(() => null);
    if (t?.status && !isTerminalA2A(t.status.state)) {
      taskId = prev.taskId;
      for (const a of t.artifacts) tracker.baseline.set(a.artifactId, textOf(a.parts));
    }
  }
  return {
    messageId: crypto.randomUUID(),
    contextId: prev?.contextId ?? "",
    taskId,
    role: Role.ROLE_USER,
    parts: [{
      content: { $case: "text", value: round.prompt },
      metadata: undefined,
      filename: "",
      mediaType: "text/plain",
    }],
    metadata: { taskferry: { task_id: round.taskId, revision: round.revision } },
    extensions: [],
    referenceTaskIds: prev?.taskId && !taskId ? [prev.taskId] : [],
  };
}

async function apply(t: Tracker, e: StreamResponse, round: A2ARound) {
  const p = e.payload;
  if (p?.$case === "task") t.task(p.value);
  else if (p?.$case === "message") t.reply = textOf(p.value.parts);
  else if (p?.$case === "statusUpdate" && p.value.status) {
    t.ref = { taskId: p.value.taskId, contextId: p.value.contextId };
    t.status(p.value.status.state, p.value.status.message);
    const words = textOf(p.value.status.message?.parts);
    if (words && !endsStream(p.value.status.state)) await round.onProgress?.(words);
  } else if (p?.$case === "artifactUpdate" && p.value.artifact) {
    const a = p.value.artifact;
    const before = p.value.append ? t.artifacts.get(a.artifactId) ?? "" : "";
    t.artifacts.set(a.artifactId, before + textOf(a.parts));
  }
}

/**
 * Runs one round at the A2A agent and returns how it ended. Streams when the agent's card says
 * it can; otherwise sends a blocking message and polls the task until it settles.
 *
 * @example
 * ```ts
 * const r1 = await runA2ARound({ url: "http://127.0.0.1:9999", prompt: "Write a haiku",
 *   taskId: "task_…", revision: 0, onProgress: (t) => console.log(t) });
 * const r2 = await runA2ARound({ url: "http://127.0.0.1:9999", prompt: "More waves",
 *   taskId: "task_…", revision: 1, previous: r1.a2a });
 * ```
 */
export async function runA2ARound(round: A2ARound): Promise<A2ARoundResult> {
  round.signal?.throwIfAborted();
  const client = await clientFor(round);
  const card = await client.getAgentCard();
  const t = new Tracker();
  const inner = new AbortController();
  let cancelling: Promise<unknown> | null = null;
  const onAbort = () => {
    // Cancel at the agent first (while the stream still shows its answer), then stop reading.
    cancelling =
      (t.ref.taskId
        ? client.cancelTask({ tenant: "", id: t.ref.taskId, metadata: {} }).catch(() => {})
        : Promise.resolve()).finally(() => inner.abort());
  };
  round.signal?.addEventListener("abort", onAbort);
  try {
    const params = {
      tenant: "",
      message: await messageFor(client, round, t),
      configuration: {
        acceptedOutputModes: [],
        taskPushNotificationConfig: undefined,
        returnImmediately: false,
      },
      metadata: undefined,
    };
    if (card.capabilities?.streaming) {
      for await (const e of client.sendMessageStream(params, { signal: inner.signal })) {
        await apply(t, e, round);
      }
    } else {
      const first = await client.sendMessage(params, { signal: inner.signal });
      if ("messageId" in first) t.reply = textOf(first.parts);
      else t.task(first);
      while (t.reply === null && !endsStream(t.state)) {
        await new Promise((r) => setTimeout(r, 250));
        inner.signal.throwIfAborted();
        t.task(await client.getTask({ tenant: "", id: t.ref.taskId }, { signal: inner.signal }));
      }
    }
  } catch (err) {
    if (round.signal?.aborted) {
      await cancelling;
      throw round.signal.reason;
    }
    throw err;
  } finally {
    round.signal?.removeEventListener("abort", onAbort);
  }
  if (round.signal?.aborted) {
    await cancelling;
    throw round.signal.reason;
  }
  if (t.reply === null && !endsStream(t.state)) {
    throw new Error(
      `the A2A agent at ${round.url} stopped streaming in ${taskStateToJSON(t.state)}`,
    );
  }
  return t.result();
}
