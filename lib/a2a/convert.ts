/**
 * TaskFerry task detail (`GET /v1/tasks/{id}`) → A2A objects: the task with its status, history
 * and artifacts, and the stream events between two readings of the same task. Pure: the
 * daemon's answer in, SDK-typed objects out.
 */
import {
  type Artifact,
  type Message,
  type Part,
  Role,
  type StreamResponse,
  type Task,
  type TaskStatus,
} from "@a2a-js/sdk";
import type { ArtifactView, TaskDetail } from "../sdk/mod.ts";
import type { TaskState } from "../protocol/mod.ts";
import { A2A_STATE } from "./states.ts";

/** A text part. */
export function textPart(text: string, mediaType = ""): Part {
  return { content: { $case: "text", value: text }, metadata: undefined, filename: "", mediaType };
}

/** A structured-data part. */
export function dataPart(value: unknown): Part {
  return { content: { $case: "data", value }, metadata: undefined, filename: "", mediaType: "" };
}

/** A message of `role` with `parts`. */
export function message(
  id: string,
  role: Role,
  parts: Part[],
  ids: { taskId: string; contextId: string },
): Message {
  return {
    messageId: id,
    contextId: ids.contextId,
    taskId: ids.taskId,
    role,
    parts,
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

/** The A2A context of a TaskFerry task: the client's own, kept in `inputs.a2a`, or the task id. */
export function contextOf(detail: TaskDetail): string {
  const a2a = detail.task.inputs?.a2a as { context_id?: unknown } | undefined;
  return typeof a2a?.context_id === "string" ? a2a.context_id : detail.task.id;
}

type Event = TaskDetail["events"][number];

/**
 * The events with the worker's progress lines among them, by time. The daemon keeps progress
 * apart from the audit events (`TaskDetail.progress`, a bounded tail); A2A shows one history.
 */
function timelineOf(detail: TaskDetail, lines = detail.progress ?? []): Event[] {
  const progress: Event[] = lines.map((p) => ({
    seq: 0,
    event_id: p.message_id,
    type: "task_progress",
    actor: p.from,
    at: p.at,
    data: { text: p.text, queue_position: p.queue_position },
    hash: "",
    prev_hash: "",
    delivery_state: null,
  }));
  return [...detail.events, ...progress].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

function reasonOf(e: Event | undefined): string | null {
  const d = e?.data as { reason?: unknown; note?: unknown } | undefined;
  const r = d?.reason ?? d?.note;
  return typeof r === "string" && r !== "" ? r : null;
}

/** The agent's words for the task's current state (none for the plain working states). */
function statusText(detail: TaskDetail): string | null {
  const t = detail.task;
  const last = timelineOf(detail).at(-1);
  switch (t.state as TaskState) {
    case "submitted":
      return `Artifact v${t.artifact_version} is ready for review. Reply on this task to ask ` +
        `for changes (${t.max_revisions - t.revisions} revision(s) left), or send "accept" ` +
        `to complete it.`;
    case "accepted":
    case "revision_requested":
      return last?.type === "task_progress" ? String(last.data.text ?? "") : null;
    case "declined":
      return `${t.worker} declined the task${reasonOf(last) ? `: ${reasonOf(last)}` : "."}`;
    case "failed":
      return `${t.worker} could not do the task${reasonOf(last) ? `: ${reasonOf(last)}` : "."}`;
    case "cancelled":
      return `The task was cancelled${reasonOf(last) ? `: ${reasonOf(last)}` : "."}`;
    case "expired":
      return `The task expired: its deadline (${t.deadline}) passed without a result.`;
    default:
      return null;
  }
}

/** The A2A status of a task. */
export function statusOf(detail: TaskDetail): TaskStatus {
  const ids = { taskId: detail.task.id, contextId: contextOf(detail) };
  const text = statusText(detail);
  const last = timelineOf(detail).at(-1);
  return {
    state: A2A_STATE[detail.task.state as TaskState],
    message: text === null ? undefined : message(
      `${last?.event_id ?? detail.task.id}-status`,
      Role.ROLE_AGENT,
      [textPart(text)],
      ids,
    ),
    timestamp: detail.task.updated_at,
  };
}

/** One artifact version as an A2A artifact (each version is its own artifact: none is lost). */
export function artifactOf(a: ArtifactView): Artifact {
  return {
    artifactId: a.message_id,
    name: a.name ?? `v${a.version}`,
    description: a.note ?? "",
    parts: [textPart(a.content, a.content_type)],
    metadata: { taskferry: { version: a.version, created_at: a.created_at } },
    extensions: [],
  };
}

/** The timeline as A2A history: what each side said, in order. */
function historyOf(detail: TaskDetail): Message[] {
  const ids = { taskId: detail.task.id, contextId: contextOf(detail) };
  const out: Message[] = [];
  for (const e of timelineOf(detail)) {
    const user = e.actor === detail.task.requester;
    let parts: Part[] | null = null;
    if (e.type === "task_request") {
      parts = [textPart(detail.task.instructions)];
      const { a2a: _a2a, ...inputs } = detail.task.inputs ?? {};
      if (Object.keys(inputs).length > 0) parts.push(dataPart(inputs));
    } else if (e.type === "revision_request") {
      parts = [textPart(String(e.data.feedback ?? ""))];
    } else if (e.type === "task_progress") {
      parts = [textPart(String(e.data.text ?? ""))];
    } else if (e.type === "artifact_submit") {
      parts = [textPart(`artifact v${e.data.version}`)];
    } else if (reasonOf(e) !== null && e.type.startsWith("task_")) {
      parts = [textPart(reasonOf(e)!)];
    }
    if (parts) {
      out.push(message(e.event_id, user ? Role.ROLE_USER : Role.ROLE_AGENT, parts, ids));
    }
  }
  return out;
}

/** The whole A2A task; `historyLength` keeps only the latest messages (0: none). */
export function taskOf(detail: TaskDetail, historyLength?: number): Task {
  const t = detail.task;
  const history = historyOf(detail);
  return {
    id: t.id,
    contextId: contextOf(detail),
    status: statusOf(detail),
    artifacts: detail.artifacts.map(artifactOf),
    history: historyLength === undefined
      ? history
      : historyLength === 0
      ? []
      : history.slice(-historyLength),
    metadata: {
      taskferry: {
        state: t.state,
        title: t.title,
        requester: t.requester,
        worker: t.worker,
        artifact_version: t.artifact_version,
        revisions: t.revisions,
        max_revisions: t.max_revisions,
        deadline: t.deadline,
      },
    },
  };
}

const STATUS_EVENTS = new Set(["artifact_submit", "revision_request"]);

/**
 * The stream events that lead from one reading of a task to the next: progress as `working`
 * status updates with the worker's text, each new artifact version as an artifact update, and
 * a status update whenever the TaskFerry state moved (or a new round started or ended).
 */
export function updatesBetween(prev: TaskDetail, next: TaskDetail): StreamResponse[] {
  const ids = { taskId: next.task.id, contextId: contextOf(next) };
  const seen = prev.events.reduce((m, e) => Math.max(m, e.seq), 0);
  const known = new Set((prev.progress ?? []).map((p) => p.message_id));
  const fresh = timelineOf(
    { ...next, events: next.events.filter((e) => e.seq > seen) },
    (next.progress ?? []).filter((p) => !known.has(p.message_id)),
  );
  const out: StreamResponse[] = [];
  for (const e of fresh) {
    if (e.type === "task_progress") {
      out.push({
        payload: {
          $case: "statusUpdate",
          value: {
            ...ids,
            status: {
              state: A2A_STATE.accepted,
              message: message(e.event_id, Role.ROLE_AGENT, [textPart(String(e.data.text))], ids),
              timestamp: e.at,
            },
            metadata: { taskferry: { type: e.type, queue_position: e.data.queue_position } },
          },
        },
      });
    } else if (e.type === "artifact_submit") {
      const a = next.artifacts.find((x) => x.version === e.data.version);
      if (!a) continue;
      out.push({
        payload: {
          $case: "artifactUpdate",
          value: { ...ids, artifact: artifactOf(a), append: false, lastChunk: true, metadata: {} },
        },
      });
    }
  }
  if (next.task.state !== prev.task.state || fresh.some((e) => STATUS_EVENTS.has(e.type))) {
    out.push({
      payload: {
        $case: "statusUpdate",
        value: {
          ...ids,
          status: statusOf(next),
          metadata: { taskferry: { state: next.task.state } },
        },
      },
    });
  }
  return out;
}
