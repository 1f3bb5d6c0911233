/** Task writes in task terms, shared by local commands, inbound application and refusal replay. */
import { fail, type PayloadOf, type TaskSnapshot } from "../../protocol/mod.ts";
import type { Daemon } from "../daemon.ts";
import type { TaskRow } from "../store/mod.ts";

/** Task `id`, or `task_not_found`. */
export function requireTask(d: Daemon, id: string): TaskRow {
  const row = d.store.tasks.get(id);
  if (!row) throw fail("task_not_found", `no task ${id} on this daemon`);
  return row;
}

/** Stores a new task from its request. */
export function insertTask(
  d: Daemon,
  id: string,
  requester: string,
  worker: string,
  p: PayloadOf<"task_request">,
  snapshot: TaskSnapshot,
  gate: TaskRow["gate"],
  at: string,
) {
  d.store.tasks.insert({
    id,
    requester,
    worker,
    title: p.title,
    instructions: p.instructions,
    inputs: p.inputs ? JSON.stringify(p.inputs) : null,
    deadline: p.deadline ?? null,
    max_revisions: snapshot.max_revisions,
    state: snapshot.state,
    snapshot: JSON.stringify(snapshot),
    gate,
    created_at: at,
  });
}

/** Stores a task's new snapshot. */
export function saveSnapshot(d: Daemon, id: string, snapshot: TaskSnapshot) {
  d.store.tasks.saveSnapshot(id, snapshot.state, JSON.stringify(snapshot), d.nowIso());
}

/** Stores the artifact an `artifact_submit` payload carries. */
export function insertArtifact(
  d: Daemon,
  taskId: string,
  p: Record<string, unknown>,
  messageId: string,
  at: string,
) {
  d.store.artifacts.insert(taskId, {
    version: p.version as number,
    content: p.content as string,
    content_type: (p.content_type as string | undefined) ?? "text/markdown",
    name: (p.name as string | undefined) ?? null,
    note: (p.note as string | undefined) ?? null,
    message_id: messageId,
    created_at: at,
  });
}
