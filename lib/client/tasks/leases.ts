/**
 * Leases of offered tasks (design §13), kept by the requester's daemon: the assigned worker
 * holds the task while it shows progress (a `task_progress`, a heartbeat being one, or an
 * artifact); when it stays silent past `lease_seconds` the task is re-offered to the other
 * candidates with a signed `task_assign` naming the lapsed worker, whose daemon withdraws.
 */
import {
  applyTaskEvent,
  newId,
  type TaskMessageType,
  type TaskSnapshot,
} from "../../protocol/mod.ts";
import { logger } from "../../log.ts";
import type { Daemon } from "../daemon.ts";
import { appendEvent } from "./audit.ts";
import { saveSnapshot } from "./records.ts";
import { eventOf } from "./rules.ts";

const log = logger("leases");

/** The lease of an offer whose request sets none. */
export const DEFAULT_LEASE_SECONDS = 600;
/** States in which the worker holds the task, so its lease runs. */
const WORKER_TURN = ["accepted", "revision_requested"];

/**
 * After `type` was applied to task `taskId` (inside the caller's transaction): starts, renews
 * or pauses the worker's lease. Does nothing for tasks without a lease (direct tasks).
 */
export function leaseAfter(d: Daemon, taskId: string, type: TaskMessageType) {
  const row = d.store.tasks.get(taskId);
  // Only the requester's daemon keeps leases (candidates' rows have no lease_seconds).
  if (!row?.lease_seconds || !d.keyring.isLocal(row.requester)) return;
  if (!WORKER_TURN.includes(row.state)) {
    d.store.tasks.setLease(taskId, row.lease_seconds, null);
    return;
  }
  const until = new Date(d.now() + row.lease_seconds * 1000).toISOString();
  d.store.tasks.setLease(taskId, row.lease_seconds, until);
  if (type === "task_assign" || type === "revision_request") {
    appendEvent(d, taskId, newId("evt"), "lease", "system", d.nowIso(), {
      worker: row.worker,
      until,
    });
  }
}

/**
 * Re-offers every task whose worker's lease lapsed (the daemon's sweep calls it; tests too,
 * with their clock). Returns the ids re-offered.
 */
export async function reofferLapsed(d: Daemon): Promise<string[]> {
  const done: string[] = [];
  for (const due of d.store.tasks.leasesBefore(d.nowIso())) {
    const reoffered = await d.lock.run(() => reofferOne(d, due.id)).catch((err) => {
      log.warn("could not re-offer a task with a lapsed lease", { task: due.id, err });
      return false;
    });
    if (reoffered) done.push(due.id);
  }
  return done;
}

async function reofferOne(d: Daemon, taskId: string): Promise<boolean> {
  const row = d.store.tasks.get(taskId);
  const at = d.nowIso();
  if (!row?.lease_seconds || !row.lease_until || row.lease_until >= at) return false;
  const snapshot = JSON.parse(row.snapshot) as TaskSnapshot;
  const lapsed = row.worker;
  appendEvent(d, taskId, newId("evt"), "lease_lapsed", "system", at, {
    worker: lapsed,
    until: row.lease_until,
  });
  const remaining = (snapshot.candidates ?? []).filter((c) => c !== lapsed);
  // Only an accepted task goes back on offer: after an artifact (revision requested) a new
  // worker would not have its predecessor's versions. Then the lapse is recorded, no more.
  if (row.state !== "accepted" || remaining.length === 0) {
    d.store.tasks.setLease(taskId, row.lease_seconds, null);
    d.events.emit("task", { id: taskId, lease: "lapsed" }, row.requester);
    return false;
  }
  const round = d.store.audit.timeline(taskId).filter((e) => e.type === "task_assign").length + 1;
  const payload = { lapsed, round };
  await d.outbox.send({
    from: row.requester,
    to: [...remaining, lapsed],
    type: "task_assign",
    task_id: taskId,
    payload,
    effects: (id, sentAt) => {
      const result = applyTaskEvent(
        snapshot,
        eventOf("task_assign", id, "requester", sentAt, payload, ""),
      );
      if (!result.ok) throw result.error;
      d.store.tasks.setWorker(taskId, "");
      saveSnapshot(d, taskId, result.task);
      appendEvent(d, taskId, id, "task_assign", row.requester, sentAt, payload);
      d.store.tasks.setLease(taskId, row.lease_seconds!, null);
    },
  });
  d.events.emit("task", { id: taskId, state: "offered", lapsed }, row.requester);
  return true;
}
