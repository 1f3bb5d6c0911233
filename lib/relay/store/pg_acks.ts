/**
 * Acks on PostgreSQL in one statement per turn, without a transaction (issue 21). The acks
 * that sessions ask for in one turn of the event loop are written by one autocommit statement
 * that deletes their pending deliveries and inserts the `delivered` receipts of exactly the
 * rows it deleted: a delivery acked elsewhere (another session, the expiry sweep) gets no
 * second receipt, and no receipt exists without its ack. Deleting, not marking: an UPDATE of
 * `state` is never HOT, so it wrote a new row and three index entries per ack; each acking
 * client's newest ack goes to `client_acks` instead ("last seen", pg_queries.ts). The receipt body is built in that statement,
 * byte for byte as rules.ts `receiptFor` builds it (a test compares them), so the envelope it
 * is about need not be read first.
 *
 * A batch used to cost BEGIN, three statements and COMMIT, five round trips one after another.
 * Each ack resolves after the statement returns, i.e. after its commit.
 * @module
 */
import { setImmediate } from "node:timers";
import type { QueuedReceipt } from "./flows.ts";

/** Runs one statement with parameters; resolves with its rows. */
export type AckExec = (
  text: string,
  params: unknown[],
) => Promise<readonly Record<string, unknown>[]>;

/** What an ack did (the store's `ackDelivery` result). */
export interface AckResult {
  acked: boolean;
  receipt?: QueuedReceipt;
  accepted_at?: number;
}

/**
 * `$1` is a JSON array of `[client, seq, done_at]`. Returns the marked rows' `ord`s, the
 * `[ord, accepted_at]` of those that owe a receipt (in ord order) and the receipts' seqs
 * (ascending): sequence values follow the INSERT's ORDER BY, so the n-th smallest seq is the
 * n-th receipt owed. The body: `{"id","state","recipients","at"}` as JSON.stringify writes it,
 * recipients being the envelope's handles of the acking client, `at` the ack's time in ISO.
 * `seq = ANY(…)` makes the rows a primary-key look-up: without it the planner guesses 100 rows
 * for the JSON array and hash-joins a scan of every pending delivery. `state = (SELECT
 * 'pending')` keeps the pending-only indexes out of the plan: without column statistics (a new
 * database, or one analyzed while empty) the planner takes 0.5% of the rows to be pending, and
 * it scanned one of those indexes whole per batch, or per seq (tests/relay/pg_ack_plan_test.ts).
 * The receipts come from `owed, locked`: no receipt takes its seq before the locks of the
 * queues it goes to are held (write_lane.ts `queueLock`), taken in lock-id order as every
 * advisory lock is; `client_acks` is written after them too, so no row lock of it is held
 * while they are waited for.
 */
export const ACK_SQL = `WITH x AS (SELECT a->>0 AS client_id, (a->>1)::bigint AS seq,
      (a->>2)::bigint AS done_at, ord
      FROM jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS x(a, ord)),
    marked AS (DELETE FROM deliveries d USING x
      WHERE d.seq = x.seq AND d.client_id = x.client_id AND d.state = (SELECT 'pending')
        AND d.seq = ANY(ARRAY(SELECT seq FROM x))
      RETURNING x.ord, x.client_id, x.done_at, d.kind, d.envelope_id),
    owed AS (SELECT m.*, e.sender_client, e.recipients, e.accepted_at FROM marked m
      JOIN envelopes e ON e.id = m.envelope_id AND m.kind = 'envelope'),
    locked AS (SELECT count(pg_advisory_xact_lock(k)) AS n FROM (SELECT DISTINCT
      hashtext('queue:' || sender_client) AS k FROM owed ORDER BY k) AS l),
    seen AS (INSERT INTO client_acks (client_id, acked_at)
      SELECT client_id, max(done_at) FROM marked, locked GROUP BY client_id ORDER BY client_id
      ON CONFLICT (client_id) DO UPDATE
      SET acked_at = greatest(client_acks.acked_at, excluded.acked_at)),
    receipts AS (INSERT INTO deliveries (client_id, kind, envelope_id, body, created_at)
      SELECT sender_client, 'receipt', envelope_id,
        '{"id":' || to_json(envelope_id)::text || ',"state":"delivered","recipients":[' ||
        coalesce((SELECT string_agg(to_json(h)::text, ',' ORDER BY i)
          FROM json_array_elements_text(recipients::json) WITH ORDINALITY AS r(h, i)
          WHERE starts_with(h, '@' || client_id || '/')), '') || '],"at":"' ||
        to_char(timestamp 'epoch' + done_at * interval '1 millisecond',
          'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"}',
        done_at
      FROM owed, locked ORDER BY ord RETURNING seq, client_id, body)
  SELECT (SELECT coalesce(jsonb_agg(ord ORDER BY ord), '[]') FROM marked) AS marked,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(ord, accepted_at) ORDER BY ord), '[]')
      FROM owed) AS owed,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(seq, client_id, body) ORDER BY seq), '[]')
      FROM receipts) AS receipts`;

interface Asked {
  clientId: string;
  seq: number;
  now: number;
  done: PromiseWithResolvers<AckResult>;
}

/** One node's acks, batched per turn. */
export class PgAcks {
  #asked: Asked[] = [];
  #writing = false;
  /** Batches written, and the deliveries they deleted (tests, benchmarks, store/pg_vacuum.ts). */
  batches = 0;
  deleted = 0;

  constructor(private readonly exec: AckExec) {}

  /** Marks `seq` of `clientId` delivered and queues its sender's receipt; see the module doc. */
  ack(clientId: string, seq: number, now: number): Promise<AckResult> {
    const done = Promise.withResolvers<AckResult>();
    if (this.#asked.length === 0 && !this.#writing) setImmediate(() => this.flush());
    this.#asked.push({ clientId, seq, now, done });
    return done.promise;
  }

  /** One write at a time: acks asked for meanwhile go together in the next (as TurnBatch). */
  private flush() {
    const asked = this.#asked;
    this.#asked = [];
    this.#writing = true;
    this.write(asked).then(
      (results) => asked.forEach((a, i) => a.done.resolve(results[i]!)),
      (err) => asked.forEach((a) => a.done.reject(err)),
    ).finally(() => {
      this.#writing = false;
      if (this.#asked.length > 0) setImmediate(() => this.flush());
    });
  }

  private async write(asked: Asked[]): Promise<AckResult[]> {
    this.batches++;
    const rows = await this.exec(ACK_SQL, [
      JSON.stringify(asked.map((a) => [a.clientId, a.seq, a.now])),
    ]);
    const { marked, owed, receipts } = rows[0] as {
      marked: number[];
      owed: [number, number][];
      receipts: [number, string, string][];
    };
    const results: AckResult[] = asked.map(() => ({ acked: false }));
    this.deleted += marked.length;
    for (const ord of marked) results[ord - 1] = { acked: true };
    owed.forEach(([ord, acceptedAt], k) => {
      const [seq, clientId, body] = receipts[k]!;
      results[ord - 1] = {
        acked: true,
        receipt: { client_id: clientId, seq: Number(seq), body },
        accepted_at: Number(acceptedAt),
      };
    });
    return results;
  }
}
