/**
 * The relay's view of offers (design §13): a `task_request` to several candidates, their
 * `task_claim`s and the requester's `task_assign`. The relay sees headers only and never
 * decides a winner: it learns the worker from the requester's signed assignment (its first
 * recipient) and, as an optimisation, refuses claims once the task is assigned.
 */
import { applyTaskEvent, type Envelope, fail, type TaskRole } from "../protocol/mod.ts";
import type { RelayTask } from "./store.ts";

/** True when `envelope` offers a new task to several candidates. */
export function isOffer(envelope: Envelope): boolean {
  return envelope.type === "task_request" && envelope.to.length > 1;
}

/** The relay's record of a new offer: no worker yet, every recipient a candidate. */
export function openOffer(envelope: Envelope, maxRevisions: number): RelayTask {
  const result = applyTaskEvent(null, {
    id: envelope.id,
    type: "task_request",
    role: "requester",
    at: envelope.created_at,
    max_revisions: maxRevisions,
    candidates: envelope.to,
  });
  if (!result.ok) throw result.error;
  return { id: envelope.task_id!, requester: envelope.from, worker: "", snapshot: result.task };
}

/**
 * The sender's role in an offered task that has no worker yet, or null when the task is not
 * such an offer. Checks the recipients too: a claim goes to the requester alone, an
 * assignment to every candidate with the chosen one first.
 */
export function offerRole(task: RelayTask, envelope: Envelope): TaskRole | null {
  const candidates = task.snapshot.candidates;
  if (!candidates) return null;
  if (task.worker !== "") {
    // Assigned: it runs like a direct task, except for the requester's re-offer.
    if (envelope.type !== "task_assign" || envelope.from !== task.requester) return null;
    return toEveryCandidate(envelope, candidates);
  }
  if (envelope.from === task.requester) {
    if (envelope.type !== "task_assign" && envelope.type !== "task_cancel") {
      throw fail("illegal_transition", `${envelope.type} is not allowed on an open offer`);
    }
    return toEveryCandidate(envelope, candidates);
  }
  if (!candidates.includes(envelope.from)) {
    throw fail("task_role", `${envelope.from} is not a candidate of ${task.id}`);
  }
  if (envelope.to.length !== 1 || envelope.to[0] !== task.requester) {
    throw fail("task_role", "a candidate writes to the requester only");
  }
  return "worker";
}

function toEveryCandidate(envelope: Envelope, candidates: readonly string[]): TaskRole {
  const same = envelope.to.length === candidates.length &&
    envelope.to.every((h) => candidates.includes(h));
  if (!same) throw fail("task_role", "task_assign goes to every candidate of the offer");
  return "requester";
}

/**
 * The worker after `envelope`: an assignment names it first; a re-offer (a `task_assign` on an
 * assigned task, its lease lapsed) leaves none; anything else keeps the current one.
 */
export function assignedWorker(task: RelayTask, envelope: Envelope): string {
  if (envelope.type !== "task_assign") return task.worker;
  return task.worker === "" ? envelope.to[0]! : "";
}

/** What the state machine needs to know of a `task_assign` beyond its header. */
export function assignEvent(task: RelayTask, envelope: Envelope): { lapsed?: string } {
  return envelope.type === "task_assign" && task.worker !== "" ? { lapsed: task.worker } : {};
}
