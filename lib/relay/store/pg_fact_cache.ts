/**
 * Facts a node read before, kept to restate them (issue 21, third pass): a group whose facts
 * are all here skips `tf_facts_v5` and goes straight to `tf_accept_group_v5`, which reads them
 * under its locks and writes only when they are unchanged. A stale fact (a revoke, a new link,
 * another node's rate counts) therefore costs a round, never a wrong accept: the write answers
 * with what it read, and the group checks again on that. Envelope ids are not kept: an id not
 * known is taken as new, and a duplicate is caught by the same check.
 *
 * Refusals are never answered from here alone: a group that would write nothing (every accept
 * refused) reads again first (lib/relay/pg_group.ts).
 * @module
 */
import type { FactRequest, Facts, WritePlan } from "./pg_fact_query.ts";

/** The lists kept, each answered item by item in the order asked (pg_functions.ts). */
const KEPT = [
  "agents",
  "clients",
  "linked",
  "grants",
  "pending_to",
  "links",
  "pending",
  "tasks",
  "open",
  "rates",
] as const;

/** Lists that a write other than an envelope and its deliveries may change. */
const EFFECTS = ["linked", "pending_to", "links", "pending", "tasks", "open"] as const;

/** Entries kept before the cache starts afresh (rate windows move on every minute). */
const MAX_ENTRIES = 50_000;

type Kept = (typeof KEPT)[number];

/** One node's facts, by list and item. */
export class FactCache {
  #lists = new Map<Kept, Map<string, unknown>>();

  /** The facts of `body` as `tf_facts_v5` would answer them, or null when one is not known. */
  facts(body: FactRequest): Facts | null {
    const facts: Record<string, unknown[]> = { ids: [] };
    for (const name of KEPT) {
      const kept = this.#lists.get(name);
      const values: unknown[] = [];
      for (const item of body[name]) {
        const k = JSON.stringify(item);
        if (!kept?.has(k)) return null;
        values.push(kept.get(k));
      }
      facts[name] = values;
    }
    return facts as unknown as Facts;
  }

  /** Keeps what `tf_facts_v5` answered for `body`. */
  keep(body: FactRequest, facts: Facts) {
    let entries = 0;
    for (const kept of this.#lists.values()) entries += kept.size;
    if (entries > MAX_ENTRIES) this.clear();
    for (const name of KEPT) {
      let kept = this.#lists.get(name);
      if (!kept) this.#lists.set(name, kept = new Map());
      const values = facts[name] as unknown[];
      values.forEach((v, i) => kept.set(JSON.stringify(body[name][i]), v));
    }
  }

  /** After a committed write: its rate counts are added; lists its effects change are dropped. */
  wrote(plan: WritePlan) {
    const rates = this.#lists.get("rates");
    for (const [key, start, n] of plan.rates) {
      const k = JSON.stringify([key, start]);
      const count = rates?.get(k);
      if (typeof count === "number") rates!.set(k, count + n);
      else rates?.delete(k);
    }
    if (plan.writes.some(([name]) => name !== "envelopeAdd" && name !== "deliveryAdd")) {
      for (const name of EFFECTS) this.#lists.delete(name);
    }
  }

  /** Forgets everything. */
  clear() {
    this.#lists.clear();
  }
}
