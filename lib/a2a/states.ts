/**
 * The one table between TaskFerry task states and A2A task states (design §15), both ways.
 * A2A has no place for some TaskFerry distinctions (two working states, `expired`), so every
 * A2A task this bridge shows also carries the TaskFerry state in `metadata.taskferry.state`:
 * nothing is lost, and a client that cares can branch on it.
 */
import { TaskState as A2AState } from "@a2a-js/sdk";
import type { TaskState } from "../protocol/mod.ts";

/**
 * TaskFerry → A2A. Why each row:
 * - `requested` → `submitted`: sent to the worker, not yet taken up.
 * - `accepted`, `revision_requested` → `working`: the worker owns the next move.
 * - `submitted` → `input-required`: an artifact waits for the requester's review. The round is
 *   done, but the task is not: the requester (the A2A client) must either accept it (complete)
 *   or ask for changes (a revision), which in A2A is "send another message on this task".
 *   `completed` would be wrong twice: A2A terminal states refuse follow-up messages, and the
 *   TaskFerry task would still be open at the worker.
 * - `completed`, `failed`, `cancelled` → `completed`, `failed`, `canceled`.
 * - `declined` → `rejected`: A2A's "the agent decided not to perform the task".
 * - `expired` → `failed`: the deadline passed with no result; A2A has no expiry state, and
 *   `canceled` would claim that somebody cancelled it. The status message says "expired".
 */
export const A2A_STATE: Readonly<Record<TaskState, A2AState>> = {
  requested: A2AState.TASK_STATE_SUBMITTED,
  accepted: A2AState.TASK_STATE_WORKING,
  submitted: A2AState.TASK_STATE_INPUT_REQUIRED,
  revision_requested: A2AState.TASK_STATE_WORKING,
  completed: A2AState.TASK_STATE_COMPLETED,
  failed: A2AState.TASK_STATE_FAILED,
  declined: A2AState.TASK_STATE_REJECTED,
  cancelled: A2AState.TASK_STATE_CANCELED,
  expired: A2AState.TASK_STATE_FAILED,
};

/** What one A2A state, reported by a local A2A agent working a TaskFerry round, means for it. */
export type RoundOutcome =
  /** Still running: relay its status message as progress. */
  | "running"
  /** The round's result is in: submit it as the next artifact version. */
  | "artifact"
  /** The agent gave up: the TaskFerry task fails. */
  | "fail";

/**
 * A2A → TaskFerry, for the worker side (an A2A server agent doing TaskFerry work). `completed`
 * and `input-required` both end the round with an artifact: an agent asking a question is
 * answered by the requester's review (a revision request comes back as the next message on
 * the same A2A task). `rejected`, `canceled`, `auth-required` and `failed` end it with
 * `task_fail`, since the worker has already accepted (a decline is no longer possible).
 */
export const ROUND_OUTCOME: Readonly<Record<A2AState, RoundOutcome>> = {
  [A2AState.TASK_STATE_UNSPECIFIED]: "running",
  [A2AState.TASK_STATE_SUBMITTED]: "running",
  [A2AState.TASK_STATE_WORKING]: "running",
  [A2AState.TASK_STATE_INPUT_REQUIRED]: "artifact",
  [A2AState.TASK_STATE_COMPLETED]: "artifact",
  [A2AState.TASK_STATE_FAILED]: "fail",
  [A2AState.TASK_STATE_CANCELED]: "fail",
  [A2AState.TASK_STATE_REJECTED]: "fail",
  [A2AState.TASK_STATE_AUTH_REQUIRED]: "fail",
  [A2AState.UNRECOGNIZED]: "running",
};

/** A2A states after which a stream ends: terminal, or interrupted waiting for the client. */
export function endsStream(state: A2AState): boolean {
  return state !== A2AState.TASK_STATE_SUBMITTED && state !== A2AState.TASK_STATE_WORKING &&
    state !== A2AState.TASK_STATE_UNSPECIFIED && state !== A2AState.UNRECOGNIZED;
}

/** Terminal A2A states: no more messages on the task. */
export function isTerminalA2A(state: A2AState): boolean {
  return state === A2AState.TASK_STATE_COMPLETED || state === A2AState.TASK_STATE_FAILED ||
    state === A2AState.TASK_STATE_CANCELED || state === A2AState.TASK_STATE_REJECTED;
}
