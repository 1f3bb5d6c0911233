/**
 * Offers (design §13): a task sealed to several candidates, their claims and the requester's
 * assignment. The requester's daemon is the authority: the first valid claim it applies wins,
 * decided under the daemon lock, and one signed `task_assign` tells every candidate.
 */
import {
  applyTaskEvent,
  type Envelope,
  fail,
  newId,
  type PayloadOf,
  type TaskSnapshot,
} from "../../protocol/mod.ts";
import type { QueuedMessage, TaskView } from "../../protocol/views.ts";
import { logger } from "../../log.ts";
import type { Daemon } from "../daemon.ts";
import type { TaskRow } from "../store/mod.ts";
import { appendEvent } from "./audit.ts";
import { insertTask, requireTask, saveSnapshot } from "./records.ts";
import { DEFAULT_LEASE_SECONDS, leaseAfter } from "./leases.ts";
import { eventData, eventOf } from "./rules.ts";
import { taskView } from "./views.ts";

const log = logger("offers");

/** `to` of `POST /v1/tasks` naming a capability: every connected peer that advertises it. */
export const CAP_PREFIX = "cap:";

/**
 * The candidates `from` may offer a task to: connected peers whose pinned profile lists
 * capability `cap`, in handle order.
 */
export function capabilityCandidates(d: Daemon, from: string, cap: string): string[] {
  const out: string[] = [];
  for (const c of d.store.connections.list(from)) {
    if (c.state !== "connected" || d.keyring.isLocal(c.peer)) continue;
    const profile = JSON.parse(d.store.peers.get(c.peer)?.profile ?? "{}") as {
      capabilities?: string[];
    };
    if (profile.capabilities?.includes(cap)) out.push(c.peer);
  }
  return out.sort();
}

/** Sends a `task_request` offering a new task to every candidate (two or more). */
export async function createOffer(
  d: Daemon,
  from: string,
  candidates: string[],
  payload: PayloadOf<"task_request">,
): Promise<{ task: TaskView; message: QueuedMessage }> {
  return await d.lock.run(async () => {
    d.keyring.require(from);
    if (new Set(candidates).size !== candidates.length || candidates.length < 2) {
      throw fail("validation_failed", "an offer needs two or more distinct candidates");
    }
    for (const to of candidates) {
      if (to === from || d.keyring.isLocal(to)) {
        throw fail("validation_failed", `${to} is an agent of this daemon: offers go to peers`);
      }
      if (!d.store.connections.isConnected(from, to)) {
        throw fail("not_connected", `${from} has no connection to ${to}`);
      }
    }
    const taskId = newId("task");
    const full = { ...payload, max_revisions: payload.max_revisions ?? 3, claim: true as const };
    const sent = await d.outbox.send({
      from,
      to: candidates,
      type: "task_request",
      task_id: taskId,
      payload: full,
      effects: (id, at) => {
        const event = eventOf("task_request", id, "requester", at, full);
        const result = applyTaskEvent(null, { ...event, candidates });
        if (!result.ok) throw result.error;
        // No worker until a claim wins; the lease starts then.
        insertTask(d, taskId, from, "", full, result.task, "none", at);
        d.store.tasks.setLease(taskId, full.lease_seconds ?? DEFAULT_LEASE_SECONDS, null);
        appendEvent(
          d,
          taskId,
          id,
          "task_request",
          from,
          at,
          eventData("task_request", full, candidates),
        );
      },
    });
    d.events.emit("task", { id: taskId, state: "offered" }, from);
    return { task: taskView(d, requireTask(d, taskId)), message: { id: sent.id, state: "queued" } };
  });
}

/**
 * A candidate's inbound offer: the header must name every candidate and the payload say
 * `claim`, or neither (a direct task). Returns an error message, or null when consistent.
 */
export function offerProblem(envelope: Envelope, payload: Record<string, unknown>): string | null {
  const offer = envelope.to.length > 1;
  if (offer !== (payload.claim === true)) {
    return "an offer names two or more candidates and says claim: true; a direct task neither";
  }
  return null;
}

/**
 * The requester's daemon applies a candidate's claim (inside the inbound transaction) and,
 * when the task is still offered, schedules the assignment. A claim after the assignment is
 * refused with `illegal_transition`: that candidate lost and gets the same `task_assign`.
 */
export function applyInboundClaim(
  d: Daemon,
  row: TaskRow,
  envelope: Envelope,
  payload: Record<string, unknown>,
): { code: "task_role" | "illegal_transition" | "task_expired"; message: string } | null {
  const snapshot = JSON.parse(row.snapshot) as TaskSnapshot;
  if (!snapshot.candidates?.includes(envelope.from)) {
    return { code: "task_role", message: `${envelope.from} is not a candidate` };
  }
  const result = applyTaskEvent(
    snapshot,
    eventOf("task_claim", envelope.id, "worker", envelope.created_at, payload),
  );
  if (!result.ok) {
    return { code: result.error.code as "illegal_transition", message: result.error.message };
  }
  appendEvent(d, row.id, envelope.id, "task_claim", envelope.from, envelope.created_at, payload);
  const winner = envelope.from;
  // After the inbound transaction commits; the lock orders assignments by arrival.
  queueMicrotask(() => {
    assignOffer(d, row.id, winner).catch((err) =>
      log.warn("could not assign an offered task", { task: row.id, err })
    );
  });
  return null;
}

/**
 * Assigns the offers whose first claim was applied but not yet answered — the assignment could
 * not be sent (the daemon stopped, or sealing failed) — to that claim's candidate. The daemon's
 * sweep calls it, so a claim never waits for a second one. Returns the ids assigned.
 */
export async function assignClaimed(d: Daemon): Promise<string[]> {
  const done: string[] = [];
  for (const row of d.store.tasks.list({ state: "offered" })) {
    if (row.worker !== "" || !d.keyring.isLocal(row.requester)) continue;
    const events = d.store.audit.timeline(row.id);
    // Claims count from the latest round on (a re-offer asks the candidates again).
    const round = events.findLastIndex((e) => e.type === "task_assign");
    const first = events.slice(round + 1).find((e) => e.type === "task_claim");
    if (first && await assignOffer(d, row.id, first.actor)) done.push(row.id);
  }
  return done;
}

/**
 * Assigns offered task `taskId` to `winner` unless it is assigned already: one signed
 * `task_assign` to every candidate, the winner first. Returns whether this call assigned it.
 */
export function assignOffer(d: Daemon, taskId: string, winner: string): Promise<boolean> {
  return d.lock.run(async () => {
    const row = requireTask(d, taskId);
    const snapshot = JSON.parse(row.snapshot) as TaskSnapshot;
    const candidates = snapshot.candidates ?? [];
    if (row.state !== "offered" || row.worker !== "" || !candidates.includes(winner)) return false;
    const round = d.store.audit.timeline(taskId).filter((e) => e.type === "task_assign").length +
      1;
    const payload = { worker: winner, round };
    const to = [winner, ...candidates.filter((c) => c !== winner)];
    await d.outbox.send({
      from: row.requester,
      to,
      type: "task_assign",
      task_id: taskId,
      payload,
      effects: (id, at) => {
        const result = applyTaskEvent(
          snapshot,
          eventOf("task_assign", id, "requester", at, payload, winner),
        );
        if (!result.ok) throw result.error;
        d.store.tasks.setWorker(taskId, winner);
        saveSnapshot(d, taskId, result.task);
        appendEvent(d, taskId, id, "task_assign", row.requester, at, payload);
        leaseAfter(d, taskId, "task_assign");
      },
    });
    d.events.emit("task", { id: taskId, state: "accepted", worker: winner }, row.requester);
    return true;
  });
}
