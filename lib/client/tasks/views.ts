/** Tasks as the API shows them: from the local parties' point of view, with allowed actions. */
import {
  allowedActions,
  fail,
  type TaskRole,
  type TaskSnapshot,
  type TaskState,
} from "../../protocol/mod.ts";
import type { ArtifactView, TaskDetail, TaskView } from "../../protocol/views.ts";
import type { Daemon } from "../daemon.ts";
import type { TaskRow } from "../store/mod.ts";
import { lastProgress } from "./progress.ts";
import { filesOfMessage } from "../files/views.ts";
import { requireTask } from "./records.ts";

/** The task as the API shows it. */
export function taskView(d: Daemon, row: TaskRow): TaskView {
  const snapshot = JSON.parse(row.snapshot) as TaskSnapshot;
  const local = [row.requester, row.worker].filter((h) => d.keyring.isLocal(h));
  const view: TaskView = {
    id: row.id,
    title: row.title,
    instructions: row.instructions,
    requester: row.requester,
    worker: row.worker,
    state: row.state as TaskState,
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
      // The requester's daemon assigns an offer itself (offers.ts): no action for its agent.
      const actions = allowedActions(snapshot, role).filter((a) => a !== "task_assign");
      return [h, gated ? [] : actions];
    })),
  };
  if (row.inputs) view.inputs = JSON.parse(row.inputs);
  if (row.lease_seconds) {
    view.lease = { seconds: row.lease_seconds, until: row.lease_until ?? null };
  }
  if (snapshot.candidates) {
    view.candidates = [...snapshot.candidates];
    // A candidate's row names itself as worker; it is the worker only once assigned.
    if (row.state === "offered" || row.state === "withdrawn") view.worker = "";
  }
  const last = lastProgress(d, row.id);
  if (last) view.last_progress = last;
  if (row.state === "failed") {
    const ev = d.store.audit.timeline(row.id).findLast((e) => e.type === "task_fail");
    if (ev) {
      const data = JSON.parse(ev.data) as { reason: string; code?: string };
      view.failure = { reason: data.reason, ...(data.code ? { code: data.code } : {}), at: ev.at };
    }
  }
  const files = filesOfMessage(d.store.files.ofTaskRequest(row.id));
  if (files.length) view.files = files;
  return view;
}

/** A task with its events and artifacts. */
export function taskDetail(d: Daemon, id: string): TaskDetail {
  const row = requireTask(d, id);
  const events = d.store.audit.timeline(id).map((e) => ({ ...e, data: JSON.parse(e.data) }));
  const artifacts = d.store.artifacts.list(id).map(withFiles(d));
  return { task: taskView(d, row), events, artifacts, progress: d.store.tasks.progress(id) };
}

/** One artifact version of a task. */
export function artifactOf(d: Daemon, taskId: string, version: number): ArtifactView {
  requireTask(d, taskId);
  const row = d.store.artifacts.get(taskId, version);
  if (!row) throw fail("not_found", `no artifact version ${version}`);
  return withFiles(d)(row);
}

/** An artifact with its files (when it carries any). */
const withFiles = (d: Daemon) => (a: ArtifactView): ArtifactView => {
  const files = filesOfMessage(d.store.files.ofMessageAll(a.message_id));
  return files.length ? { ...a, files } : a;
};

/** Tasks matching the filter, newest first (a worker never sees a task held at the gate). */
export function listTasks(
  d: Daemon,
  filter: { agent?: string | undefined; state?: string | undefined },
): TaskView[] {
  return d.store.tasks.list(filter).map((r) => taskView(d, r));
}
