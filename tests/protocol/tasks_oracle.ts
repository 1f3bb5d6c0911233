/** The independent oracle of the task machine and helpers shared by the task tests. */
import { assert, assertEquals } from "../assert.ts";
import {
  applyTaskEvent,
  DEFAULT_MAX_REVISIONS,
  type TaskEvent,
  type TaskRole,
  type TaskSnapshot,
  type TaskState,
  type Transition,
} from "../../lib/protocol/tasks.ts";
import { TASK_TYPES, type TaskMessageType } from "../../lib/protocol/schemas.ts";
import { TaskferryError } from "../../lib/protocol/errors.ts";
import { newId } from "../../lib/protocol/ids.ts";

export type Action = Exclude<TaskMessageType, "task_request">;
export const ACTIONS = TASK_TYPES.filter((t): t is Action => t !== "task_request");
export const ROLES = ["requester", "worker", "system"] as const;

/** The state machine of design §6, written out independently of the implementation. */
export const LEGAL: Record<TaskState, Partial<Record<Action, TaskState>>> = {
  requested: { task_accept: "accepted", task_decline: "declined", task_cancel: "cancelled" },
  accepted: {
    artifact_submit: "submitted",
    task_cancel: "cancelled",
    task_progress: "accepted",
    task_fail: "failed",
  },
  submitted: {
    revision_request: "revision_requested",
    task_complete: "completed",
    task_cancel: "cancelled",
  },
  revision_requested: {
    artifact_submit: "submitted",
    task_cancel: "cancelled",
    task_progress: "revision_requested",
    task_fail: "failed",
  },
  completed: {},
  declined: {},
  cancelled: {},
  expired: {},
  failed: {},
  offered: { task_claim: "offered", task_assign: "accepted", task_cancel: "cancelled" },
  withdrawn: {},
};

/** Who may send what (design §6, §11): the worker accepts, declines, submits, reports, fails. */
export const OWNER: Record<TaskMessageType, TaskRole> = {
  task_request: "requester",
  task_accept: "worker",
  task_decline: "worker",
  artifact_submit: "worker",
  revision_request: "requester",
  task_complete: "requester",
  task_cancel: "requester",
  task_progress: "worker",
  task_fail: "worker",
  task_claim: "worker",
  task_assign: "requester",
};

const T0 = Date.parse("2026-11-21T20:00:00.000Z");
export const at = (minutes = 0) => new Date(T0 + minutes * 60_000).toISOString();

/** Freezes a value deeply, so any mutation by the code under test throws. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** A snapshot in `state` with plausible counters for it. */
export function snapshot(state: TaskState, extra: Partial<TaskSnapshot> = {}): TaskSnapshot {
  const hasArtifact = ["submitted", "revision_requested", "completed"].includes(state);
  return deepFreeze({
    state,
    artifact_version: hasArtifact ? 1 : 0,
    revisions: state === "revision_requested" ? 1 : 0,
    max_revisions: DEFAULT_MAX_REVISIONS,
    deadline: null,
    event_ids: [newId("msg")],
    ...extra,
  });
}

/** An event of `type` by `role` that carries the right artifact version for `task`. */
export function event(
  type: TaskEvent["type"],
  role: TaskEvent["role"],
  task: TaskSnapshot | null,
  extra: Partial<TaskEvent> = {},
): TaskEvent {
  const e: TaskEvent = { id: newId("msg"), type, role, at: at() };
  if (type === "artifact_submit") e.version = (task?.artifact_version ?? 0) + 1;
  if (type === "revision_request") e.version = task?.artifact_version ?? 0;
  return deepFreeze({ ...e, ...extra });
}

export function ok(result: Transition): TaskSnapshot {
  if (!result.ok) {
    throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  }
  return result.task;
}

export function refused(result: Transition, code: string, context = "") {
  assert(!result.ok, `expected ${code}, got success ${context}`);
  assert(result.error instanceof TaskferryError);
  assertEquals(result.error.code, code, `${context}: ${result.error.message}`);
}

/** Applies events in order, failing on any refusal. */
export function replay(events: TaskEvent[]): TaskSnapshot {
  let task: TaskSnapshot | null = null;
  for (const e of events) task = ok(applyTaskEvent(task, e));
  return task!;
}
