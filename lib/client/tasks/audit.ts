/**
 * The audit chain: every task event is appended with the hash of the one before it, so a
 * changed, removed or reordered event breaks the chain. The hashing rule lives here once.
 */
import { canonicalJson } from "../../protocol/mod.ts";
import type { Daemon } from "../daemon.ts";
import { sha256Hex } from "../util.ts";

/** The fields an event's hash covers. */
interface Hashed {
  task_id: string;
  event_id: string;
  type: string;
  actor: string;
  at: string;
  data: unknown;
}

/** An event's hash given the previous one ("" for the first). */
function chainHash(prev: string, e: Hashed): string {
  return sha256Hex(
    prev + "\n" +
      canonicalJson({
        task_id: e.task_id,
        event_id: e.event_id,
        type: e.type,
        actor: e.actor,
        at: e.at,
        data: e.data,
      }),
  );
}

/** Appends to a task's hash-chained audit log (idempotent by event id and type). */
export function appendEvent(
  d: Daemon,
  taskId: string,
  eventId: string,
  type: string,
  actor: string,
  at: string,
  data: unknown,
) {
  const prev = d.store.audit.lastHash(taskId);
  const e = { task_id: taskId, event_id: eventId, type, actor, at, data };
  d.store.audit.append({
    ...e,
    data: JSON.stringify(data),
    prev_hash: prev,
    hash: chainHash(prev, e),
  });
}

/** Verifies a task's audit hash chain; returns the first broken seq or null. */
export function verifyChain(d: Daemon, taskId: string): number | null {
  let prev = "";
  for (const e of d.store.audit.list(taskId)) {
    const expect = chainHash(prev, { ...e, task_id: taskId, data: JSON.parse(e.data) });
    if (e.prev_hash !== prev || e.hash !== expect) return e.seq;
    prev = e.hash;
  }
  return null;
}
