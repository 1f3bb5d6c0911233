/** The daemon's task projection: local actions, inbound events, gates, the audit chain. */
import {
  allowedActions,
  applyTaskEvent,
  canonicalJson,
  type Envelope,
  fail,
  isTerminal,
  newId,
  type PayloadOf,
  type TaskEvent,
  TaskferryError,
  type TaskMessageType,
  type TaskRole,
  type TaskSnapshot,
} from "../protocol/mod.ts";
import { all, get, run } from "../store/mod.ts";
import type { Daemon } from "./daemon.ts";
import { nowIso, sha256Hex } from "./util.ts";

/** A task row. */
export interface TaskRow {
  id: string;
  requester: string;
  worker: string;
  title: string;
  instructions: string;
  inputs: string | null;
  deadline: string | null;
  max_revisions: number;
  state: string;
  snapshot: string;
  gate: "none" | "pending" | "approved" | "rejected";
  created_at: string;
  updated_at: string;
}

/** Task actions the API exposes, by route name. */
export const TASK_ACTIONS = {
  accept: "task_accept",
  decline: "task_decline",
  artifacts: "artifact_submit",
  revisions: "revision_request",
  complete: "task_complete",
  cancel: "task_cancel",
  progress: "task_progress",
  fail: "task_fail",
} as const satisfies Record<string, TaskMessageType>;
export type TaskActionName = keyof typeof TASK_ACTIONS;

export function taskRow(d: Daemon, id: string): TaskRow | undefined {
  return get<TaskRow>(d.db, "SELECT * FROM tasks WHERE id = ?", id);
}

function requireTask(d: Daemon, id: string): TaskRow {
  const row = taskRow(d, id);
  if (!row) throw fail("task_not_found", `no task ${id} on this daemon`);
  return row;
}

/** The task as the API shows it, from a local agent's point of view when given. */
export function taskView(d: Daemon, row: TaskRow) {
  const snapshot = JSON.parse(row.snapshot) as TaskSnapshot;
  const local = [row.requester, row.worker].filter((h) => d.agentRow(h));
  const view: Record<string, unknown> = {
    id: row.id,
    title: row.title,
    instructions: row.instructions,
    requester: row.requester,
    worker: row.worker,
    state: row.state,
    artifact_version: snapshot.artifact_version,
    revisions: snapshot.revisions,
    max_revisions: row.max_revisions,
    deadline: row.deadline,
    gate: row.gate,
    created_at: row.created_at,
    updated_at: row.updated_at,
    local_roles: Object.fromEntries(
      local.map((h) => [h, h === row.requester ? "requester" : "worker"]),
    ),
    allowed_actions: Object.fromEntries(local.map((h) => {
      const role: TaskRole = h === row.requester ? "requester" : "worker";
      const gated = role === "worker" && row.gate === "pending";
      return [h, gated ? [] : allowedActions(snapshot, role)];
    })),
  };
  if (row.inputs) view.inputs = JSON.parse(row.inputs);
  return view;
}

/** Events and artifacts of a task. */
export function taskDetail(d: Daemon, id: string) {
  const row = requireTask(d, id);
  const events = all<Record<string, unknown>>(
    d.db,
    `SELECT e.seq, e.event_id, e.type, e.actor, e.at, e.data, e.hash, e.prev_hash,
       m.state AS delivery_state
     FROM task_events e LEFT JOIN messages m ON m.id = e.event_id AND m.agent = e.actor
     WHERE e.task_id = ? ORDER BY e.seq`,
    id,
  ).map((e) => ({ ...e, data: JSON.parse(e.data as string) }));
  const artifacts = all<Record<string, unknown>>(
    d.db,
    "SELECT version, content, content_type, name, note, message_id, created_at FROM artifacts WHERE task_id = ? ORDER BY version",
    id,
  );
  return { task: taskView(d, row), events, artifacts };
}

export function listTasks(
  d: Daemon,
  filter: { agent?: string | undefined; state?: string | undefined },
) {
  const where: string[] = [];
  const params: string[] = [];
  if (filter.agent) {
    where.push("(requester = ? OR worker = ?)");
    params.push(filter.agent, filter.agent);
  }
  if (filter.state) {
    where.push("state = ?");
    params.push(filter.state);
  }
  // A gated task stays invisible to the worker's agent until the owner approves it.
  if (filter.agent) {
    where.push("NOT (worker = ? AND gate IN ('pending', 'rejected'))");
    params.push(filter.agent);
  }
  const sql = `SELECT * FROM tasks ${where.length ? "WHERE " + where.join(" AND ") : ""}
    ORDER BY created_at DESC LIMIT 500`;
  return all<TaskRow>(d.db, sql, ...params).map((r) => taskView(d, r));
}

/** Appends to the hash-chained audit log. */
export function appendEvent(
  d: Daemon,
  taskId: string,
  eventId: string,
  type: string,
  actor: string,
  at: string,
  data: unknown,
) {
  const prev = get<{ hash: string }>(
    d.db,
    "SELECT hash FROM task_events WHERE task_id = ? ORDER BY seq DESC LIMIT 1",
    taskId,
  )?.hash ?? "";
  const hash = sha256Hex(
    prev + "\n" + canonicalJson({ task_id: taskId, event_id: eventId, type, actor, at, data }),
  );
  run(
    d.db,
    `INSERT INTO task_events (task_id, event_id, type, actor, at, data, prev_hash, hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    taskId,
    eventId,
    type,
    actor,
    at,
    JSON.stringify(data),
    prev,
    hash,
  );
}

function saveSnapshot(d: Daemon, id: string, snapshot: TaskSnapshot) {
  run(
    d.db,
    "UPDATE tasks SET state = ?, snapshot = ?, updated_at = ? WHERE id = ?",
    snapshot.state,
    JSON.stringify(snapshot),
    nowIso(),
    id,
  );
}

/** What the audit log keeps of a payload (artifact content lives in `artifacts`). */
function eventData(type: TaskMessageType, payload: Record<string, unknown>) {
  if (type === "artifact_submit") {
    const { content: _content, ...rest } = payload;
    return rest;
  }
  return payload;
}

function eventOf(
  type: TaskMessageType,
  id: string,
  role: TaskRole,
  at: string,
  payload: Record<string, unknown>,
): TaskEvent {
  const event: TaskEvent = { id, type, role, at };
  if (type === "task_request") {
    event.max_revisions = payload.max_revisions as number | undefined;
    event.deadline = (payload.deadline as string | undefined) ?? null;
  }
  if (type === "artifact_submit") event.version = payload.version as number;
  if (type === "revision_request") event.version = payload.artifact_version as number;
  return event;
}

/** Creates a task and sends the task_request. */
export async function createTask(
  d: Daemon,
  input: PayloadOf<"task_request"> & { from: string; to: string },
) {
  return await d.lock.run(async () => {
    d.requireLocal(input.from);
    const { from, to, ...payload } = input;
    if (from === to) throw fail("validation_failed", "a task needs two different agents");
    requireConnected(d, from, to);
    const taskId = newId("task");
    const maxRevisions = payload.max_revisions ?? 3;
    const full = { ...payload, max_revisions: maxRevisions };
    const sent = await d.send({
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

function insertTask(
  d: Daemon,
  id: string,
  requester: string,
  worker: string,
  p: PayloadOf<"task_request">,
  snapshot: TaskSnapshot,
  gate: TaskRow["gate"],
  at: string,
) {
  run(
    d.db,
    `INSERT INTO tasks (id, requester, worker, title, instructions, inputs, deadline, max_revisions, state,
       snapshot, gate, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    id,
    requester,
    worker,
    p.title,
    p.instructions,
    p.inputs ? JSON.stringify(p.inputs) : null,
    p.deadline ?? null,
    snapshot.max_revisions,
    snapshot.state,
    JSON.stringify(snapshot),
    gate,
    at,
    at,
  );
}

function requireConnected(d: Daemon, agent: string, peer: string) {
  const c = get<{ state: string }>(
    d.db,
    "SELECT state FROM connections WHERE agent = ? AND peer = ?",
    agent,
    peer,
  );
  if (c?.state !== "connected") {
    throw fail("not_connected", `${agent} has no connection to ${peer}`);
  }
}

/** Runs a task action of a local agent: checks locally, then sends. */
export function taskAction(
  d: Daemon,
  taskId: string,
  action: TaskActionName,
  input: { agent?: string | undefined } & Record<string, unknown>,
) {
  return d.lock.run(() => runTaskAction(d, taskId, action, input, false));
}

/** The body of {@link taskAction}; the caller holds the lock. `ownerDecides` skips the gate. */
async function runTaskAction(
  d: Daemon,
  taskId: string,
  action: TaskActionName,
  input: { agent?: string | undefined } & Record<string, unknown>,
  ownerDecides: boolean,
) {
  {
    const type = TASK_ACTIONS[action];
    const row = requireTask(d, taskId);
    const agent = d.actingAgent(input.agent, [row.requester, row.worker]);
    const role: TaskRole | null = agent === row.requester
      ? "requester"
      : agent === row.worker
      ? "worker"
      : null;
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
    const check = applyTaskEvent(snapshot, eventOf(type, newId("msg"), role, nowIso(), payload));
    if (!check.ok) throw check.error;
    const sent = await d.send({
      from: agent,
      to: [peer],
      type,
      task_id: taskId,
      payload,
      effects: (id, at) => {
        const result = applyTaskEvent(snapshot, eventOf(type, id, role, at, payload));
        if (!result.ok) throw result.error;
        saveSnapshot(d, taskId, result.task);
        appendEvent(d, taskId, id, type, agent, at, eventData(type, payload));
        if (type === "artifact_submit") insertArtifact(d, taskId, payload, id, at);
      },
    });
    const updated = requireTask(d, taskId);
    d.events.emit("task", { id: taskId, state: updated.state, action: type }, agent);
    return { task: taskView(d, updated), message: { id: sent.id, state: "queued" } };
  }
}

function insertArtifact(
  d: Daemon,
  taskId: string,
  p: Record<string, unknown>,
  messageId: string,
  at: string,
) {
  run(
    d.db,
    `INSERT INTO artifacts (task_id, version, content, content_type, name, note, message_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    taskId,
    p.version as number,
    p.content as string,
    (p.content_type as string | undefined) ?? "text/markdown",
    (p.name as string | undefined) ?? null,
    (p.note as string | undefined) ?? null,
    messageId,
    at,
  );
}

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
): { ok: true; visible: boolean } | { ok: false; code: string; message: string } {
  const type = envelope.type as TaskMessageType;
  const taskId = envelope.task_id!;
  const row = taskRow(d, taskId);
  if (type === "task_request") {
    if (row) {
      // Both parties are agents of this daemon: the requester's side already created the task.
      if (
        row.requester === envelope.from && row.worker === local && d.agentRow(envelope.from) &&
        (JSON.parse(row.snapshot) as TaskSnapshot).event_ids.includes(envelope.id)
      ) {
        if (gate) run(d.db, "UPDATE tasks SET gate = 'pending' WHERE id = ?", taskId);
        return { ok: true, visible: !gate };
      }
      return { ok: false, code: "illegal_transition", message: "task exists" };
    }
    const result = applyTaskEvent(
      null,
      eventOf(type, envelope.id, "requester", envelope.created_at, payload),
    );
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
    appendEvent(
      d,
      taskId,
      envelope.id,
      type,
      envelope.from,
      envelope.created_at,
      eventData(type, payload),
    );
    return { ok: true, visible: !gate };
  }
  if (!row) return { ok: false, code: "task_not_found", message: `no task ${taskId}` };
  const role: TaskRole | null = envelope.from === row.requester
    ? "requester"
    : envelope.from === row.worker
    ? "worker"
    : null;
  const other = role === "requester" ? row.worker : row.requester;
  if (!role || other !== local) return { ok: false, code: "task_role", message: "not a party" };
  const result = applyTaskEvent(
    JSON.parse(row.snapshot),
    eventOf(type, envelope.id, role, envelope.created_at, payload),
  );
  if (!result.ok) return { ok: false, code: result.error.code, message: result.error.message };
  if (result.duplicate) {
    // Already applied: by the sender's side when both parties are agents of this daemon (a
    // redelivery from a remote peer never gets here: inbound dedups by envelope id first).
    const localSender = d.agentRow(envelope.from) !== undefined;
    return { ok: true, visible: localSender && !(role === "requester" && row.gate === "pending") };
  }
  saveSnapshot(d, taskId, result.task);
  appendEvent(
    d,
    taskId,
    envelope.id,
    type,
    envelope.from,
    envelope.created_at,
    eventData(type, payload),
  );
  if (type === "artifact_submit") {
    insertArtifact(d, taskId, payload, envelope.id, envelope.created_at);
  }
  return { ok: true, visible: !(role === "requester" && row.gate === "pending") };
}

/** After the relay refused one of our task envelopes: undo it by replaying the rest. */
export function revertRefusedTaskEvent(d: Daemon, messageId: string, reason: string) {
  const ev = get<{ task_id: string; type: string; actor: string }>(
    d.db,
    "SELECT task_id, type, actor FROM task_events WHERE event_id = ? AND type != 'send_failed'",
    messageId,
  );
  if (!ev) return;
  appendEvent(d, ev.task_id, messageId, "send_failed", ev.actor, nowIso(), {
    event_id: messageId,
    reason,
  });
  const row = requireTask(d, ev.task_id);
  const failed = new Set(
    all<{ data: string }>(
      d.db,
      "SELECT data FROM task_events WHERE task_id = ? AND type = 'send_failed'",
      ev.task_id,
    )
      .map((r) => (JSON.parse(r.data) as { event_id: string }).event_id),
  );
  if (ev.type === "artifact_submit") {
    run(d.db, "DELETE FROM artifacts WHERE task_id = ? AND message_id = ?", ev.task_id, messageId);
  }
  let snapshot: TaskSnapshot | null = null;
  const events = all<{ event_id: string; type: string; actor: string; at: string; data: string }>(
    d.db,
    "SELECT event_id, type, actor, at, data FROM task_events WHERE task_id = ? AND type NOT IN ('send_failed', 'gate', 'expire') ORDER BY seq",
    ev.task_id,
  );
  for (const e of events) {
    if (failed.has(e.event_id)) continue;
    const role: TaskRole = e.actor === row.requester ? "requester" : "worker";
    const result = applyTaskEvent(
      snapshot,
      eventOf(e.type as TaskMessageType, e.event_id, role, e.at, JSON.parse(e.data)),
    );
    if (result.ok) snapshot = result.task;
  }
  if (snapshot) saveSnapshot(d, ev.task_id, snapshot);
  else {
    // The task_request itself was refused: the task never reached the worker. It ends here,
    // cancelled, with the refusal in its timeline (the send_failed event above).
    snapshot = { ...(JSON.parse(row.snapshot) as TaskSnapshot), state: "cancelled" };
    saveSnapshot(d, ev.task_id, snapshot);
  }
  d.events.emit("task", {
    id: ev.task_id,
    state: snapshot?.state ?? row.state,
    reverted: messageId,
    reason,
  });
}

/** The owner approves or rejects a gated inbound task. */
export async function decideGate(d: Daemon, taskId: string, approve: boolean, reason?: string) {
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
    const at = nowIso();
    const decision = approve ? "approved" : "rejected";
    run(d.db, "UPDATE tasks SET gate = ?, updated_at = ? WHERE id = ?", decision, at, taskId);
    appendEvent(d, taskId, newId("evt"), "gate", "owner", at, { decision });
    if (approve) {
      for (
        const m of all<{ id: string }>(
          d.db,
          "SELECT id FROM messages WHERE task_id = ? AND agent = ? AND direction = 'in' ORDER BY created_at",
          taskId,
          row.worker,
        )
      ) {
        run(
          d.db,
          "INSERT INTO inbox (agent, message_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
          row.worker,
          m.id,
        );
      }
    }
    return row.worker;
  });
  d.events.emit("task", { id: taskId, gate: approve ? "approved" : "rejected" }, worker);
  if (approve) d.events.emit("inbox", { task_id: taskId }, worker);
  return taskDetail(d, taskId);
}

/** Moves tasks whose deadline has passed to `expired`. */
export function expireDue(d: Daemon, now = new Date()) {
  const at = now.toISOString();
  const rows = all<TaskRow>(
    d.db,
    "SELECT * FROM tasks WHERE deadline IS NOT NULL AND deadline < ?",
    at,
  );
  for (const row of rows) {
    const snapshot = JSON.parse(row.snapshot) as TaskSnapshot;
    if (isTerminal(snapshot.state)) continue;
    const id = newId("evt");
    const result = applyTaskEvent(snapshot, { id, type: "expire", role: "system", at });
    if (!result.ok) continue;
    saveSnapshot(d, row.id, result.task);
    appendEvent(d, row.id, id, "expire", "system", at, {});
    d.events.emit("task", { id: row.id, state: "expired" });
  }
}

/** Verifies a task's audit hash chain; returns the first broken seq or null. */
export function verifyChain(d: Daemon, taskId: string): number | null {
  let prev = "";
  for (
    const e of all<
      {
        seq: number;
        event_id: string;
        type: string;
        actor: string;
        at: string;
        data: string;
        prev_hash: string;
        hash: string;
      }
    >(
      d.db,
      "SELECT * FROM task_events WHERE task_id = ? ORDER BY seq",
      taskId,
    )
  ) {
    const expect = sha256Hex(
      prev + "\n" +
        canonicalJson({
          task_id: taskId,
          event_id: e.event_id,
          type: e.type,
          actor: e.actor,
          at: e.at,
          data: JSON.parse(e.data),
        }),
    );
    if (e.prev_hash !== prev || e.hash !== expect) return e.seq;
    prev = e.hash;
  }
  return null;
}
