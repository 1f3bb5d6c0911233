/**
 * The task state machine (design §6): one pure function used by relay, daemons and dashboard.
 *
 * requested ─accept─▶ accepted ─artifact v1─▶ submitted ─complete─▶ completed
 *     └─decline─▶ declined        revision ─▶ revision_requested ─artifact vN─┘
 * any non-terminal ─cancel (requester)─▶ cancelled; deadline passed ─▶ expired
 * accepted | revision_requested ─fail (worker)─▶ failed; ─progress (worker)─▶ (no change)
 *
 * Offers (design §13): a task_request with `claim` starts `offered`; candidates' task_claims
 * change nothing (bids); the requester's task_assign moves it to `accepted` (for the assigned
 * worker and the requester) or `withdrawn` (for every other candidate's daemon). When the
 * worker's lease lapses, a re-offer (`task_assign` with `reopen`) moves `accepted` back to
 * `offered` without the lapsed worker (whose daemon withdraws), and wakes withdrawn candidates.
 */
import { fail, type TaskferryError } from "./errors.ts";
import type { TaskMessageType } from "./schemas.ts";

export const TASK_STATES = [
  "offered",
  "requested",
  "accepted",
  "submitted",
  "revision_requested",
  "completed",
  "declined",
  "cancelled",
  "expired",
  "failed",
  "withdrawn",
] as const;
export type TaskState = typeof TASK_STATES[number];

/** States a task never leaves. */
export const TERMINAL_STATES: readonly TaskState[] = [
  "completed",
  "declined",
  "cancelled",
  "expired",
  "failed",
  "withdrawn",
];

/** True when no further event can change the task. */
export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** Who acts: roles are fixed by the task_request (its sender requests, its recipient works). */
export type TaskRole = "requester" | "worker";

/** The default bound on revision requests when the task_request does not set one. */
export const DEFAULT_MAX_REVISIONS = 3;

/** The facts of a task that the state machine needs. */
export interface TaskSnapshot {
  state: TaskState;
  /** Highest artifact version submitted so far (0 when none). */
  artifact_version: number;
  /** Revision requests made so far. */
  revisions: number;
  max_revisions: number;
  /** ISO timestamp or null. */
  deadline: string | null;
  /** Ids of the events already applied, for idempotence under redelivery. */
  event_ids: readonly string[];
  /** An offer's candidates (absent on direct tasks, so their snapshots stay unchanged). */
  candidates?: readonly string[];
}

/** One task event as it arrives: an envelope id, its type, the actor's role, its time. */
export interface TaskEvent {
  id: string;
  type: TaskMessageType | "expire";
  role: TaskRole | "system";
  /** ISO timestamp of the event (envelope `created_at`). */
  at: string;
  /** For `task_request`. */
  max_revisions?: number | undefined;
  deadline?: string | null | undefined;
  /** For `artifact_submit` (the version submitted) and `revision_request` (the version reviewed). */
  version?: number | undefined;
  /** For an offering `task_request`: every candidate (two or more). */
  candidates?: readonly string[] | undefined;
  /** For `task_assign` applied by a candidate that was not chosen: it withdraws. */
  withdrawn?: boolean | undefined;
  /** For a re-offering `task_assign`: the worker whose lease lapsed (no longer a candidate). */
  lapsed?: string | undefined;
}

/** The outcome of applying an event. */
export type Transition =
  | { ok: true; task: TaskSnapshot; duplicate: boolean }
  | { ok: false; error: TaskferryError };

/** Which role may send each task message type. */
export const TASK_ACTION_ROLE: Record<TaskMessageType, TaskRole> = {
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

/**
 * The state each type moves to, from the states it is legal in. `to: null` is a report that
 * changes nothing (`task_progress`): it is checked like any event but leaves the snapshot
 * untouched, not even recording its id, so a stream of progress cannot grow the snapshot
 * that relay and daemons rewrite on every event (redelivery is caught by envelope id).
 */
const MOVES: Record<Exclude<TaskMessageType, "task_request">, {
  from: readonly TaskState[];
  to: TaskState | null;
}> = {
  task_accept: { from: ["requested"], to: "accepted" },
  task_decline: { from: ["requested"], to: "declined" },
  artifact_submit: { from: ["accepted", "revision_requested"], to: "submitted" },
  revision_request: { from: ["submitted"], to: "revision_requested" },
  task_complete: { from: ["submitted"], to: "completed" },
  task_cancel: {
    from: ["offered", "requested", "accepted", "submitted", "revision_requested"],
    to: "cancelled",
  },
  task_progress: { from: ["accepted", "revision_requested"], to: null },
  task_fail: { from: ["accepted", "revision_requested"], to: "failed" },
  task_claim: { from: ["offered"], to: null },
  // A re-offer also leaves `accepted` (lapsed lease) and wakes `withdrawn` (see below).
  task_assign: { from: ["offered", "accepted", "withdrawn"], to: "accepted" },
};

function refuse(code: Parameters<typeof fail>[0], message: string): Transition {
  return { ok: false, error: fail(code, message) };
}

/**
 * Applies `event` to `task` (null before the task_request). Never mutates its input.
 * A repeated event id returns the task unchanged with `duplicate: true`; illegal, out-of-role
 * and late events are refused with a typed error and change nothing.
 */
export function applyTaskEvent(task: TaskSnapshot | null, event: TaskEvent): Transition {
  if (task && task.event_ids.includes(event.id)) return { ok: true, task, duplicate: true };

  if (event.type === "task_request") {
    if (task) return refuse("illegal_transition", "the task already exists");
    if (event.role !== "requester") return refuse("task_role", "only a requester creates a task");
    const offer = event.candidates !== undefined;
    if (
      offer &&
      (event.candidates!.length < 2 || new Set(event.candidates).size !== event.candidates!.length)
    ) {
      return refuse("validation_failed", "an offer needs two or more distinct candidates");
    }
    const created: TaskSnapshot = {
      state: offer ? "offered" : "requested",
      artifact_version: 0,
      revisions: 0,
      max_revisions: event.max_revisions ?? DEFAULT_MAX_REVISIONS,
      deadline: event.deadline ?? null,
      event_ids: [event.id],
    };
    if (offer) created.candidates = [...event.candidates!];
    return { ok: true, duplicate: false, task: created };
  }
  if (!task) return refuse("task_not_found", "no task_request precedes this event");

  if (event.type === "expire") {
    if (isTerminal(task.state)) return refuse("illegal_transition", `task is ${task.state}`);
    if (!isPastDeadline(task, event.at)) return refuse("illegal_transition", "deadline not passed");
    return { ok: true, duplicate: false, task: next(task, event, { state: "expired" }) };
  }

  const needed = TASK_ACTION_ROLE[event.type];
  if (event.role !== needed) {
    return refuse("task_role", `only the ${needed} may send ${event.type}`);
  }
  if (task.state === "expired" || (!isTerminal(task.state) && isPastDeadline(task, event.at))) {
    return refuse("task_expired", `the deadline ${task.deadline} has passed`);
  }
  const move = MOVES[event.type];
  if (!move.from.includes(task.state)) {
    return refuse(
      "illegal_transition",
      `${event.type} is not allowed when the task is ${task.state}`,
    );
  }

  if (move.to === null) return { ok: true, duplicate: false, task };
  switch (event.type) {
    case "artifact_submit": {
      const expected = task.artifact_version + 1;
      if (event.version !== expected) {
        return refuse("artifact_version_mismatch", `expected artifact version ${expected}`);
      }
      return {
        ok: true,
        duplicate: false,
        task: next(task, event, { state: move.to, artifact_version: expected }),
      };
    }
    case "revision_request": {
      if (task.revisions >= task.max_revisions) {
        return refuse("max_revisions_reached", `max_revisions is ${task.max_revisions}`);
      }
      if (event.version !== undefined && event.version !== task.artifact_version) {
        return refuse(
          "artifact_version_mismatch",
          `the latest artifact is version ${task.artifact_version}`,
        );
      }
      return {
        ok: true,
        duplicate: false,
        task: next(task, event, { state: move.to, revisions: task.revisions + 1 }),
      };
    }
    case "task_assign": {
      if (event.lapsed === undefined) {
        if (task.state !== "offered") {
          return refuse(
            "illegal_transition",
            `task_assign is not allowed when the task is ${task.state}`,
          );
        }
        const state = event.withdrawn ? "withdrawn" : move.to;
        return { ok: true, duplicate: false, task: next(task, event, { state }) };
      }
      // A re-offer: the lapsed worker leaves the candidates; its own daemon withdraws.
      const candidates = (task.candidates ?? []).filter((c) => c !== event.lapsed);
      const state = event.withdrawn ? "withdrawn" : "offered";
      return { ok: true, duplicate: false, task: next(task, event, { state, candidates }) };
    }
    default:
      return { ok: true, duplicate: false, task: next(task, event, { state: move.to }) };
  }
}

function next(task: TaskSnapshot, event: TaskEvent, change: Partial<TaskSnapshot>): TaskSnapshot {
  return { ...task, ...change, event_ids: [...task.event_ids, event.id] };
}

/** True when the task has a deadline and `at` is after it. */
export function isPastDeadline(task: Pick<TaskSnapshot, "deadline">, at: string): boolean {
  return task.deadline !== null && Date.parse(at) > Date.parse(task.deadline);
}

/** The role an agent holds in a task, given the task's parties. */
export function roleOf(
  parties: { requester: string; worker: string },
  handle: string,
): TaskRole | null {
  if (handle === parties.requester) return "requester";
  if (handle === parties.worker) return "worker";
  return null;
}

/** The task actions `role` may take in `state` (for UIs and help). */
export function allowedActions(task: TaskSnapshot, role: TaskRole): TaskMessageType[] {
  if (isTerminal(task.state)) return [];
  return (Object.keys(MOVES) as (keyof typeof MOVES)[]).filter((type) =>
    TASK_ACTION_ROLE[type] === role && MOVES[type].from.includes(task.state) &&
    !(type === "revision_request" && task.revisions >= task.max_revisions) &&
    // Re-offering is the requester daemon's decision on a lapsed lease, not an action.
    !(type === "task_assign" && task.state !== "offered")
  );
}
