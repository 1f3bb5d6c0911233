/**
 * What local agents and the owner do to tasks: create, act (accept … cancel), and decide an
 * owner gate. Each checks against the state machine first, so a refusal sends nothing, then
 * sends and records in the outbox transaction.
 */
import {
  applyTaskEvent,
  fail,
  newId,
  type PayloadOf,
  TaskferryError,
  type TaskSnapshot,
} from "../../protocol/mod.ts";
import type { QueuedMessage, TaskDetail, TaskView } from "../../protocol/views.ts";
import type { Daemon } from "../daemon.ts";
import type { TaskRow } from "../store/mod.ts";
import { appendEvent } from "./audit.ts";
import { leaseAfter } from "./leases.ts";
import { CAP_PREFIX, capabilityCandidates, createOffer } from "./offers.ts";
import { emitProgress, keepProgress, type ProgressLine } from "./progress.ts";
import { insertArtifact, insertTask, requireTask, saveSnapshot } from "./records.ts";
import { eventData, eventOf, roleOf, TASK_ACTIONS, type TaskActionName } from "./rules.ts";
import { taskDetail, taskView } from "./views.ts";

/** A task command's answer. */
export interface TaskCommandResult {
  task: TaskView;
  message: QueuedMessage;
}

/**
 * Creates a task and sends the task_request. `to` is one handle (a direct task), several
 * handles, or `cap:NAME` (every connected peer advertising NAME): those are offers (design
 * §13) when they name two or more candidates; a capability matching one peer is a direct task.
 */
export async function createTask(
  d: Daemon,
  input: PayloadOf<"task_request"> & {
    from: string;
    to: string | string[];
    online_only?: boolean | undefined;
  },
): Promise<TaskCommandResult> {
  const { from, to: target, claim, online_only: onlineOnly, ...rest } = input;
  let to = target;
  if (typeof to === "string" && to.startsWith(CAP_PREFIX)) {
    to = capabilityCandidates(d, from, to.slice(CAP_PREFIX.length));
    if (onlineOnly) to = to.filter((peer) => d.presence.get(peer).online);
    if (to.length === 0) {
      const now = onlineOnly ? " online now" : "";
      throw fail("no_candidates", `no connected peer of ${from}${now} advertises ${target}`);
    }
    if (to.length === 1) to = to[0]!;
  }
  if (Array.isArray(to)) {
    if (to.length === 1 && !claim) to = to[0]!;
    else return await createOffer(d, from, to, rest);
  } else if (claim) {
    throw fail("validation_failed", "claim: true needs two or more candidates in `to`");
  }
  return await createDirect(d, { ...rest, from, to });
}

async function createDirect(
  d: Daemon,
  input: PayloadOf<"task_request"> & { from: string; to: string },
): Promise<TaskCommandResult> {
  return await d.lock.run(async () => {
    d.keyring.require(input.from);
    const { from, to, ...payload } = input;
    if (from === to) throw fail("validation_failed", "a task needs two different agents");
    if (!d.store.connections.isConnected(from, to)) {
      throw fail("not_connected", `${from} has no connection to ${to}`);
    }
    const taskId = newId("task");
    const maxRevisions = payload.max_revisions ?? 3;
    const full = { ...payload, max_revisions: maxRevisions };
    const sent = await d.outbox.send({
      from,
      to: [to],
      type: "task_request",
      task_id: taskId,
      payload: full,
      effects: (id, at) => {
        const result = applyTaskEvent(null, eventOf("task_request", id, "requester", at, full));
        if (!result.ok) throw result.error;
        insertTask(d, taskId, from, to, full, result.task, "none", at);
        appendEvent(d, taskId, id, "task_request", from, at, eventData("task_request", full));
      },
    });
    d.events.emit("task", { id: taskId, state: "requested" }, from);
    return { task: taskView(d, requireTask(d, taskId)), message: { id: sent.id, state: "queued" } };
  });
}

/** Runs a task action of a local agent: checks locally, then sends. */
export function taskAction(
  d: Daemon,
  taskId: string,
  action: TaskActionName,
  input: { agent?: string | undefined } & Record<string, unknown>,
): Promise<TaskCommandResult> {
  return d.lock.run(() => runTaskAction(d, taskId, action, input, false));
}

/** The body of {@link taskAction}; the caller holds the lock. `ownerDecides` skips the gate. */
async function runTaskAction(
  d: Daemon,
  taskId: string,
  action: TaskActionName,
  input: { agent?: string | undefined } & Record<string, unknown>,
  ownerDecides: boolean,
): Promise<TaskCommandResult> {
  const type = TASK_ACTIONS[action];
  const row = requireTask(d, taskId);
  const agent = d.keyring.acting(input.agent, [row.requester, row.worker]);
  const role = roleOf(row, agent);
  if (!role) throw fail("task_role", `${agent} is not a party of ${taskId}`);
  if (role === "worker" && row.gate === "pending" && !ownerDecides) throw fail("gate_pending");
  const peer = role === "requester" ? row.worker : row.requester;
  const { agent: _agent, ...rest } = input;
  const snapshot = JSON.parse(row.snapshot) as TaskSnapshot;
  const payload: Record<string, unknown> = { ...rest };
  if (type === "artifact_submit") payload.version = snapshot.artifact_version + 1;
  if (type === "revision_request" && payload.artifact_version === undefined) {
    payload.artifact_version = snapshot.artifact_version;
  }
  if (
    type === "task_complete" && payload.artifact_version === undefined &&
    snapshot.artifact_version > 0
  ) {
    payload.artifact_version = snapshot.artifact_version;
  }
  // Check first with a provisional id, so a refusal sends nothing.
  const check = applyTaskEvent(snapshot, eventOf(type, newId("msg"), role, d.nowIso(), payload));
  if (!check.ok) throw check.error;
  if (type === "task_progress") return await sendProgress(d, row, agent, peer, payload);
  // An open offer has no worker yet: the requester's words (a cancel) go to every candidate.
  const to = role === "requester" && row.worker === "" && snapshot.candidates
    ? [...snapshot.candidates]
    : [peer];
  const sent = await d.outbox.send({
    from: agent,
    to,
    type,
    task_id: taskId,
    payload,
    effects: (id, at) => {
      const result = applyTaskEvent(snapshot, eventOf(type, id, role, at, payload));
      if (!result.ok) throw result.error;
      saveSnapshot(d, taskId, result.task);
      leaseAfter(d, taskId, type);
      appendEvent(d, taskId, id, type, agent, at, eventData(type, payload));
      if (type === "artifact_submit") insertArtifact(d, taskId, payload, id, at);
    },
  });
  const updated = requireTask(d, taskId);
  d.events.emit("task", { id: taskId, state: updated.state, action: type }, agent);
  return { task: taskView(d, updated), message: { id: sent.id, state: "queued" } };
}

/**
 * Sends a progress line (already checked against the state machine): no snapshot, no audit
 * entry (see progress.ts), only the bounded tail and a live event.
 */
async function sendProgress(
  d: Daemon,
  row: TaskRow,
  agent: string,
  peer: string,
  payload: Record<string, unknown>,
): Promise<TaskCommandResult> {
  let line: ProgressLine | undefined;
  const sent = await d.outbox.send({
    from: agent,
    to: [peer],
    type: "task_progress",
    task_id: row.id,
    payload,
    effects: (id, at) => {
      line = {
        message_id: id,
        from: agent,
        text: payload.text as string,
        queue_position: payload.queue_position as number | undefined,
        at,
      };
      keepProgress(d, row.id, line);
    },
  });
  if (line) emitProgress(d, row.id, line, agent);
  return { task: taskView(d, requireTask(d, row.id)), message: { id: sent.id, state: "queued" } };
}

/** The owner approves or rejects a gated inbound task. */
export async function decideGate(
  d: Daemon,
  taskId: string,
  approve: boolean,
  reason?: string,
): Promise<TaskDetail> {
  // One critical section: nobody may see or act on the task between the decision and, for a
  // rejection, the decline sent on the worker's behalf.
  const worker = await d.lock.run(async () => {
    const row = requireTask(d, taskId);
    if (row.gate !== "pending") {
      throw fail("conflict", `task ${taskId} is not waiting for approval`);
    }
    if (!approve) {
      // Rejecting declines on the worker's behalf so the requester learns the outcome.
      try {
        await runTaskAction(d, taskId, "decline", {
          agent: row.worker,
          reason: reason ?? "declined by the owner",
        }, true);
      } catch (err) {
        // The task ended meanwhile (cancelled by the requester, or past its deadline): there
        // is nothing left to decline, and the rejection stands.
        const ended = err instanceof TaskferryError &&
          (err.code === "illegal_transition" || err.code === "task_expired");
        if (!ended) throw err;
      }
    }
    const at = d.nowIso();
    const decision = approve ? "approved" : "rejected";
    d.store.tasks.setGate(taskId, decision, at);
    appendEvent(d, taskId, newId("evt"), "gate", "owner", at, { decision });
    if (approve) {
      for (const id of d.store.messages.receivedForTask(taskId, row.worker)) {
        d.store.inbox.add(row.worker, id);
      }
    }
    return row.worker;
  });
  d.events.emit("task", { id: taskId, gate: approve ? "approved" : "rejected" }, worker);
  if (approve) d.events.emit("inbox", { task_id: taskId }, worker);
  return taskDetail(d, taskId);
}
