/**
 * What the routing checks of a PostgreSQL accept group ask of the database: the request sent
 * to `tf_facts_v5` / `tf_accept_group_v5` (pg_functions.ts), built ahead from each envelope's
 * hint and grown by the reads the checks miss (pg_facts.ts), and the shapes of the answer and
 * of the group's writes.
 * @module
 */
import { handleOwner, TERMINAL_STATES } from "../../protocol/mod.ts";
import type { Param, Row } from "./flow.ts";
import type { GroupHint } from "./group.ts";
import { rateWindow } from "./rules.ts";

/** What the checks of a group read (each list: keys, or key pairs). */
export interface FactRequest {
  ids: string[];
  agents: string[];
  clients: string[];
  linked: [string, string][];
  grants: [string, string][];
  pending_to: [string, string][];
  links: [string, string][];
  pending: [string, string][];
  tasks: string[];
  open: [string, string][];
  rates: [string, number][];
  /** Advisory locks the write takes (the envelopes' lock keys, the rate keys). */
  locks: string[];
  terminal: readonly string[];
}

/**
 * What tf_facts_v5 answered (pg_functions.ts): `ids`, the ids asked for that exist; every other
 * list, one answer per item of the request's list, in its order.
 */
export interface Facts {
  ids: string[];
  agents: (Row | null)[];
  clients: (Row | null)[];
  linked: boolean[];
  grants: boolean[];
  pending_to: [string, string, string][][];
  links: (string | null)[];
  pending: (string | null)[];
  tasks: (Row | null)[];
  open: number[];
  rates: number[];
}

/** The group's writes: flow steps as `[name, ...params]`, and rate counts to add. */
export interface WritePlan {
  writes: [string, ...Param[]][];
  rates: [string, number, number][];
}

/** A read the facts do not hold; the group asks for it and runs its checks again. */
export class MissingFact extends Error {}

/** Window of the shared rate limits (as PgRelayStore.takeRates). */
export const RATE_WINDOW_MS = 60_000;

/** The key of a list item in look-up maps. */
export const key = (...parts: (string | number)[]) => parts.join("\n");

/** A new, empty request (the terminal task states come from protocol/tasks.ts). */
export function emptyRequest(): FactRequest {
  return {
    ids: [],
    agents: [],
    clients: [],
    linked: [],
    grants: [],
    pending_to: [],
    links: [],
    pending: [],
    tasks: [],
    open: [],
    rates: [],
    locks: [],
    terminal: TERMINAL_STATES,
  };
}

/** The lists of a request. */
export type ListName = Exclude<keyof FactRequest, "terminal">;

/** A request being built: the lists sent to tf_facts_v5, and what they hold, for look-ups. */
export class FactQuery {
  readonly body: FactRequest = emptyRequest();
  private readonly seen = new Set<string>();

  /** Adds `item` to the list `name` unless it is there. */
  ask<K extends ListName>(name: K, item: FactRequest[K][number]) {
    const k = key(name, ...(Array.isArray(item) ? item : [item as string]));
    if (this.seen.has(k)) return;
    this.seen.add(k);
    (this.body[name] as unknown[]).push(item);
  }

  /** True when `item` is in the list `name`. */
  has(name: ListName, ...item: (string | number)[]) {
    return this.seen.has(key(name, ...item));
  }
}

/**
 * Asks for what the routing checks (accept.ts) usually read for `hint`'s envelope, so that a
 * group mostly needs one read; a read left out costs a round, not a wrong answer.
 */
export function askAhead(query: FactQuery, hint: GroupHint) {
  const { envelope: e, senderClient, at } = hint;
  for (const lock of hint.locks) query.ask("locks", lock);
  query.ask("ids", e.id);
  // The sender's client and agent, which the accept checks again under its locks
  // (credentials.ts `checkSender`): not asked ahead, each cost the group one more round.
  query.ask("clients", senderClient);
  query.ask("agents", e.from);
  query.ask("rates", [`client:${senderClient}`, rateWindow(at, RATE_WINDOW_MS).start]);
  query.ask("rates", [`client:${senderClient}`, rateWindow(at, RATE_WINDOW_MS).previous]);
  for (const to of e.to) {
    const owner = handleOwner(to);
    query.ask("agents", to);
    query.ask("clients", owner);
    if (owner !== senderClient) {
      query.ask("linked", [senderClient, to]);
      query.ask("grants", [senderClient, to]);
      query.ask("pending_to", [to, senderClient]);
    }
    if (e.type.startsWith("connection_")) {
      query.ask("pending", [to, e.from]);
    } else {
      query.ask("links", [e.from, to]);
      const { start, previous } = rateWindow(at, RATE_WINDOW_MS);
      query.ask("rates", [`link:${e.from}>${to}`, start]);
      query.ask("rates", [`link:${e.from}>${to}`, previous]);
    }
  }
  if (e.task_id) {
    query.ask("tasks", e.task_id);
    if (e.to[0] && e.type === "task_request") query.ask("open", [e.from, e.to[0]]);
  }
}
