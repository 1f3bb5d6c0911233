/** Applies a peer's task envelope to the local projection (inside the inbound transaction). */
import {
  applyTaskEvent,
  type Envelope,
  type ErrorCode,
  type PayloadOf,
  type TaskMessageType,
  type TaskSnapshot,
} from "../../protocol/mod.ts";
import type { Daemon } from "../daemon.ts";
import { appendEvent } from "./audit.ts";
import { insertArtifact, insertTask, saveSnapshot } from "./records.ts";
import { leaseAfter } from "./leases.ts";
import { applyInboundClaim, offerProblem } from "./offers.ts";
import { emitProgress, keepProgress, progressOf } from "./progress.ts";
import { eventData, eventOf, roleOf } from "./rules.ts";

/** The outcome of applying one inbound task envelope. */
export type InboundTaskResult =
  | { ok: true; visible: boolean }
  | { ok: false; code: ErrorCode; message: string };

/**
 * Applies an inbound task envelope (already verified and opened) inside the caller's
 * transaction. Returns whether it was applied and whether the agent should see it now.
 */
export function applyInboundTask(
  d: Daemon,
  envelope: Envelope,
  payload: Record<string, unknown>,
  local: string,
  gate: boolean,
): InboundTaskResult {
  const type = envelope.type as TaskMessageType;
  const taskId = envelope.task_id!;
  const row = d.store.tasks.get(taskId);
  // A task_request to several recipients is an offer; its candidates are the header's `to`.
  const candidates = type === "task_request" && envelope.to.length > 1 ? envelope.to : undefined;
  // The audit entry for this envelope (once it is applied).
  const record = () =>
    appendEvent(
      d,
      taskId,
      envelope.id,
      type,
      envelope.from,
      envelope.created_at,
      eventData(type, payload, candidates),
    );
  if (type === "task_request") {
    if (row) {
      // Both parties are agents of this daemon: the requester's side already created the task.
      if (
        row.requester === envelope.from && row.worker === local &&
        d.keyring.isLocal(envelope.from) &&
        (JSON.parse(row.snapshot) as TaskSnapshot).event_ids.includes(envelope.id)
      ) {
        if (gate) d.store.tasks.setGate(taskId, "pending");
        return { ok: true, visible: !gate };
      }
      return { ok: false, code: "illegal_transition", message: "task exists" };
    }
    const problem = offerProblem(envelope, payload);
    if (problem) return { ok: false, code: "validation_failed", message: problem };
    const event = eventOf(type, envelope.id, "requester", envelope.created_at, payload);
    if (candidates) event.candidates = candidates;
    const result = applyTaskEvent(null, event);
    if (!result.ok) return { ok: false, code: result.error.code, message: result.error.message };
    insertTask(
      d,
      taskId,
      envelope.from,
      local,
      payload as PayloadOf<"task_request">,
      result.task,
      gate ? "pending" : "none",
      envelope.created_at,
    );
    record();
    return { ok: true, visible: !gate };
  }
  if (!row) return { ok: false, code: "task_not_found", message: `no task ${taskId}` };
  if (type === "task_claim") {
    if (row.requester !== local) return { ok: false, code: "task_role", message: "not ours" };
    const refused = applyInboundClaim(d, row, envelope, payload);
    return refused ? { ok: false, ...refused } : { ok: true, visible: true };
  }
  if (type === "task_assign" && payload.worker !== undefined && payload.worker !== envelope.to[0]) {
    return { ok: false, code: "validation_failed", message: "the assigned worker comes first" };
  }
  const role = roleOf(row, envelope.from);
  const other = role === "requester" ? row.worker : row.requester;
  if (!role || other !== local) return { ok: false, code: "task_role", message: "not a party" };
  const result = applyTaskEvent(
    JSON.parse(row.snapshot),
    eventOf(type, envelope.id, role, envelope.created_at, payload, row.worker),
  );
  if (!result.ok) return { ok: false, code: result.error.code, message: result.error.message };
  if (type === "task_progress") {
    // No state change and no audit entry (progress.ts); not an inbox item either: the
    // requester follows it live (`task_progress` events) and in the task's progress tail.
    keepProgress(d, taskId, progressOf(envelope, payload));
    leaseAfter(d, taskId, type);
    return { ok: true, visible: false };
  }
  if (result.duplicate) {
    // Already applied: by the sender's side when both parties are agents of this daemon (a
    // redelivery from a remote peer never gets here: inbound dedups by envelope id first).
    const localSender = d.keyring.isLocal(envelope.from);
    return { ok: true, visible: localSender && !(role === "requester" && row.gate === "pending") };
  }
  saveSnapshot(d, taskId, result.task);
  leaseAfter(d, taskId, type);
  record();
  if (type === "artifact_submit") {
    insertArtifact(d, taskId, payload, envelope.id, envelope.created_at);
  }
  return { ok: true, visible: !(role === "requester" && row.gate === "pending") };
}

/**
 * The live event of an applied inbound task envelope (after its transaction committed): a
 * progress line as `task_progress`, anything else as `task` with the state it left.
 */
export function emitInboundTask(
  d: Daemon,
  envelope: Envelope,
  payload: Record<string, unknown>,
  local: string,
) {
  const taskId = envelope.task_id!;
  if (envelope.type === "task_progress") {
    emitProgress(d, taskId, progressOf(envelope, payload), local);
    return;
  }
  const state = d.store.tasks.get(taskId)?.state;
  d.events.emit("task", { id: taskId, type: envelope.type, ...(state ? { state } : {}) }, local);
}
