/**
 * Who is calling (design §14): the owner (owner token or dashboard session, full power) or one
 * local agent (an agent token). The bearer guard resolves the principal once per request; routes
 * enforce it with the helpers here — one per route kind — so no route compares tokens or
 * handles itself:
 *
 * - {@link actingAgent}: routes that act as or filter by a local agent (`from`, `agent`);
 * - {@link requireVisibleTask}: routes about one task;
 * - {@link requireVisibleMessage}: routes about one message;
 * - owner-only routes never reach a handler with an agent principal (guards/access.ts).
 */
import type { Context } from "hono";
import { fail } from "../../protocol/mod.ts";
import type { Daemon } from "../daemon.ts";
import type { DaemonEvent } from "../events.ts";
import type { MessageRow, TaskRow } from "../store/mod.ts";

/** The caller of a `/v1` route. */
export type Principal = { kind: "owner" } | { kind: "agent"; handle: string; tokenId: string };

declare module "hono" {
  interface ContextVariableMap {
    /** The caller, resolved once by the bearer guard. */
    principal: Principal;
  }
}

/** The agent an agent token belongs to, or null for the owner. */
export function agentOf(c: Context): string | null {
  const p = c.get("principal");
  return p.kind === "agent" ? p.handle : null;
}

/**
 * The local agent a request acts as or filters by. The owner may name any agent (or none); an
 * agent token acts as its own agent — naming another one is `forbidden`, naming none means its
 * own.
 */
export function actingAgent(c: Context, given: string | undefined): string | undefined {
  const own = agentOf(c);
  if (own === null) return given;
  if (given !== undefined && given !== own) {
    throw fail("forbidden", `this token belongs to ${own}; it cannot act as or read ${given}`);
  }
  return own;
}

/**
 * Whether `agent` must not see task `row` yet: it is the worker and the owner's gate is pending
 * or rejected (the task's content is the owner's to release). TaskTable.list applies the same
 * rule in SQL for agent-filtered lists.
 */
export function heldFrom(row: TaskRow, agent: string): boolean {
  return row.worker === agent && (row.gate === "pending" || row.gate === "rejected");
}

/** Whether task `taskId` is one `agent` is a party to and may see now. */
export function taskVisibleTo(d: Daemon, taskId: string, agent: string): boolean {
  const row = d.store.tasks.get(taskId);
  return row !== undefined && (row.requester === agent || row.worker === agent) &&
    !heldFrom(row, agent);
}

/**
 * For a route about task `taskId`: an agent token reaches only tasks of its agent that are not
 * held at the owner's gate — any other task answers `task_not_found`, exactly like a task that
 * does not exist, so a held task's existence does not show either.
 */
export function requireVisibleTask(c: Context, d: Daemon, taskId: string): void {
  const own = agentOf(c);
  if (own !== null && !taskVisibleTo(d, taskId, own)) {
    throw fail("task_not_found", `no task ${taskId} on this daemon`);
  }
}

/** Whether message `m` (a row or its view) may be shown to `agent`: its own, of no held task. */
export function messageVisibleTo(
  d: Daemon,
  m: Pick<MessageRow, "agent"> & { task_id?: string | null | undefined },
  agent: string,
): boolean {
  return m.agent === agent && (!m.task_id || taskVisibleTo(d, m.task_id, agent));
}

/**
 * For a route about message `id`: an agent token reaches only its agent's visible copy, which
 * this returns (`not_found` otherwise); for the owner, undefined (any copy will do).
 */
export function requireVisibleMessage(c: Context, d: Daemon, id: string): MessageRow | undefined {
  const own = agentOf(c);
  if (own === null) return undefined;
  const row = d.store.messages.of(id, own);
  if (!row || !messageVisibleTo(d, row, own)) throw fail("not_found", `no message ${id}`);
  return row;
}

/** Of `messages`, those the caller may see (all for the owner; see {@link messageVisibleTo}). */
export function visibleMessages<M extends Parameters<typeof messageVisibleTo>[1]>(
  c: Context,
  d: Daemon,
  messages: M[],
): M[] {
  const own = agentOf(c);
  return own === null ? messages : messages.filter((m) => messageVisibleTo(d, m, own));
}

/**
 * Whether event `e` goes to a stream of `principal`: the owner sees everything; an agent sees
 * its own agent's events (none about a held task) and the relay link's state.
 */
export function eventVisibleTo(d: Daemon, principal: Principal, e: DaemonEvent): boolean {
  if (principal.kind === "owner") return true;
  if (e.agent === undefined) return e.type === "relay";
  if (e.agent !== principal.handle) return false;
  const taskId = e.type === "task" ? e.data.id : e.data.task_id;
  return typeof taskId !== "string" || taskVisibleTo(d, taskId, principal.handle);
}

/** A body field only the owner may set (`permissions`): `forbidden` for an agent token. */
export function ownerOnlyField(c: Context, name: string, value: unknown): void {
  const own = agentOf(c);
  if (own !== null && value !== undefined) {
    throw fail("forbidden", `${name} is the owner's to set; leave it out with an agent token`);
  }
}
