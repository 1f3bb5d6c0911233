/**
 * The push side's reads of pending deliveries on PostgreSQL, coalesced per turn (issue 21): the
 * sessions that pump in one turn of the event loop (one per recipient woken by a commit or a
 * NOTIFY) read their pages with one statement instead of one each. Each page is still read
 * after its session asked, so nothing is served stale; only the round trips are shared.
 * @module
 */
import type { DeliveryRow } from "../store.ts";
import { toDelivery } from "./rules.ts";
import { TurnBatch } from "./turn_batch.ts";

/** Runs one statement with parameters; resolves with its rows. */
export type PendingExec = (
  text: string,
  params: unknown[],
) => Promise<readonly Record<string, unknown>[]>;

/**
 * Every asked page in one statement: the same rows as `deliveriesPending` (pg_queries.ts) per
 * `[client, after, limit]` of the JSON array `$1`, tagged with the page's position in the arrays.
 * The planner cannot see the JSON array's values: ordering by (client_id, seq) makes the page an
 * ordered read of the `deliveries_pending` index (by seq alone it walked the primary key from
 * `after`, filtering every client's rows), and the envelope is a LIMIT 1 lateral look-up per
 * row (as a plain join it was hash-joined against a scan of every envelope).
 */
export const PENDING_PAGES_SQL = `SELECT q.i, d.* FROM jsonb_array_elements($1::text::jsonb)
      WITH ORDINALITY AS q(a, i)
    CROSS JOIN LATERAL (SELECT x.seq, x.kind, coalesce(x.body, e.body) AS body, x.envelope_id,
        coalesce(e.accepted_at, x.created_at) AS accepted_at, x.attempts
      FROM (SELECT * FROM deliveries x WHERE x.client_id = q.a->>0 AND x.state = 'pending'
        AND x.seq > (q.a->>1)::bigint ORDER BY x.client_id, x.seq LIMIT (q.a->>2)::int) AS x
      LEFT JOIN LATERAL (SELECT body, accepted_at FROM envelopes e
        WHERE e.id = x.envelope_id AND x.kind = 'envelope' LIMIT 1) AS e ON true) AS d
    ORDER BY q.i, d.seq`;

/** Pending-delivery pages asked for in one turn, read together. */
export class PendingPages {
  readonly #pages: TurnBatch<DeliveryRow[]>;
  /** Statements run, and pages they served (tests, benchmarks). */
  reads = 0;
  pages = 0;

  constructor(exec: PendingExec) {
    this.#pages = new TurnBatch(async (keys) => {
      this.reads++;
      this.pages += keys.length;
      // The keys are the pages' JSON ([client, after, limit]): the parameter is their array.
      const rows = await exec(PENDING_PAGES_SQL, [`[${keys.join(",")}]`]);
      const pages = keys.map((): DeliveryRow[] => []);
      for (const r of rows) pages[Number(r.i) - 1]!.push(toDelivery(r));
      return new Map(keys.map((k, i) => [k, pages[i]!]));
    });
  }

  /** Pending rows of `clientId` after `afterSeq`, in seq order, at most `limit`. */
  get(clientId: string, afterSeq: number, limit: number): Promise<DeliveryRow[]> {
    return this.#pages.get(JSON.stringify([clientId, afterSeq, limit])).then((rows) => rows ?? []);
  }
}
