/**
 * Refusal replay: when the relay refuses one of our task envelopes, the local projection already
 * applied it. Undo it by recording the refusal and replaying the task's other events.
 */
import {
  applyTaskEvent,
  type TaskMessageType,
  type TaskRole,
  type TaskSnapshot,
} from "../../protocol/mod.ts";
import type { Daemon } from "../daemon.ts";
import { appendEvent } from "./audit.ts";
import { requireTask, saveSnapshot } from "./records.ts";
import { eventOf } from "./rules.ts";

/** After the relay refused our task message `messageId`: undo it by replaying the rest. */
export function revertRefusedTaskEvent(d: Daemon, messageId: string, reason: string) {
  // A refused progress line never reached the requester: forget it (it is in no audit chain).
  d.store.tasks.deleteProgress(messageId);
  const ev = d.store.audit.carriedBy(messageId);
  if (!ev) return;
  appendEvent(d, ev.task_id, messageId, "send_failed", ev.actor, d.nowIso(), {
    event_id: messageId,
    reason,
  });
  const row = requireTask(d, ev.task_id);
  const failed = new Set(
    d.store.audit.sendFailures(ev.task_id).map((data) =>
      (JSON.parse(data) as { event_id: string }).event_id
    ),
  );
  if (ev.type === "artifact_submit") d.store.artifacts.deleteByMessage(ev.task_id, messageId);
  // A refused assignment leaves the offer open, with no worker, for the next claim.
  if (ev.type === "task_assign") d.store.tasks.setWorker(ev.task_id, "");
  const current = JSON.parse(row.snapshot) as TaskSnapshot;
  let snapshot: TaskSnapshot | null = null;
  for (const e of d.store.audit.replayable(ev.task_id)) {
    if (failed.has(e.event_id)) continue;
    const role: TaskRole = e.actor === row.requester ? "requester" : "worker";
    const data = JSON.parse(e.data) as Record<string, unknown>;
    // A candidate's audit rows from before offers kept their candidates there: the snapshot has them.
    if (e.type === "task_request" && !data.candidates && current.candidates) {
      data.candidates = current.candidates;
    }
    const result = applyTaskEvent(
      snapshot,
      eventOf(e.type as TaskMessageType, e.event_id, role, e.at, data, row.worker),
    );
    if (result.ok) snapshot = result.task;
  }
  if (snapshot) saveSnapshot(d, ev.task_id, snapshot);
  else {
    // The task_request itself was refused: the task never reached the worker. It ends here,
    // cancelled, with the refusal in its timeline (the send_failed event above).
    snapshot = { ...current, state: "cancelled" };
    saveSnapshot(d, ev.task_id, snapshot);
  }
  d.events.emit("task", {
    id: ev.task_id,
    state: snapshot?.state ?? row.state,
    reverted: messageId,
    reason,
  });
}
