/**
 * Acks on PostgreSQL in two statements per turn, without a transaction (issue 21). The acks
 * that sessions ask for in one turn of the event loop:
 *
 * 1. one read finds which of their deliveries are still pending, with the envelope each
 *    `delivered` receipt is about (envelope rows never change, so this needs no lock);
 * 2. the receipts are built here (rules.ts `receiptFor`, as flows.ts `ackDelivery` does), and
 *    one autocommit statement marks the deliveries delivered and inserts the receipts of
 *    exactly the rows that statement marked: a delivery acked elsewhere in between (another
 *    session, the expiry sweep) gets no second receipt, and no receipt exists without its ack.
 *
 * A batch used to cost BEGIN, three statements and COMMIT, five round trips one after another.
 * Each ack resolves after statement 2 returns, i.e. after its commit.
 * @module
 */
import { setImmediate } from "node:timers";
import type { QueuedReceipt } from "./flows.ts";
import { receiptFor } from "./rules.ts";

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

/** Step 1: `$1` is a JSON array of `[client, seq]`; rows of the pending ones, by `ord`. */
export const ACK_READ_SQL = `SELECT x.ord, d.kind, d.envelope_id, e.sender_client, e.recipients,
      e.accepted_at
    FROM jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS x(a, ord)
    JOIN deliveries d ON d.seq = (x.a->>1)::bigint AND d.client_id = x.a->>0
      AND d.state = 'pending'
    LEFT JOIN envelopes e ON e.id = d.envelope_id AND d.kind = 'envelope'`;

/**
 * Step 2: `$1` is a JSON array of `[client, seq, done_at, receipt client, receipt body]` (the
 * receipt null when none is owed). Sequence values follow the INSERT's ORDER BY, so the n-th
 * smallest returned seq is the receipt of the n-th marked row that owes one.
 */
export const ACK_WRITE_SQL = `WITH x AS (SELECT a->>0 AS client_id, (a->>1)::bigint AS seq,
      (a->>2)::bigint AS done_at, a->>3 AS rclient, a->>4 AS rbody, ord
      FROM jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS x(a, ord)),
    marked AS (UPDATE deliveries d SET state = 'delivered', done_at = x.done_at FROM x
      WHERE d.seq = x.seq AND d.client_id = x.client_id AND d.state = 'pending'
      RETURNING x.ord, x.rclient, x.rbody, x.done_at, d.envelope_id),
    receipts AS (INSERT INTO deliveries (client_id, kind, envelope_id, body, created_at)
      SELECT rclient, 'receipt', envelope_id, rbody, done_at FROM marked
      WHERE rbody IS NOT NULL ORDER BY ord RETURNING seq)
  SELECT (SELECT coalesce(jsonb_agg(ord ORDER BY ord), '[]') FROM marked) AS marked,
    (SELECT coalesce(jsonb_agg(seq ORDER BY seq), '[]') FROM receipts) AS seqs`;

interface Asked {
  clientId: string;
  seq: number;
  now: number;
  done: PromiseWithResolvers<AckResult>;
}

/** One node's acks, batched per turn. */
export class PgAcks {
  #asked: Asked[] = [];
  /** Batches written (tests, benchmarks). */
  batches = 0;

  constructor(private readonly exec: AckExec) {}

  /** Marks `seq` of `clientId` delivered and queues its sender's receipt; see the module doc. */
  ack(clientId: string, seq: number, now: number): Promise<AckResult> {
    const done = Promise.withResolvers<AckResult>();
    if (this.#asked.length === 0) setImmediate(() => this.flush());
    this.#asked.push({ clientId, seq, now, done });
    return done.promise;
  }

  private flush() {
    const asked = this.#asked;
    this.#asked = [];
    this.write(asked).then(
      (results) => asked.forEach((a, i) => a.done.resolve(results[i]!)),
      (err) => asked.forEach((a) => a.done.reject(err)),
    );
  }

  private async write(asked: Asked[]): Promise<AckResult[]> {
    this.batches++;
    const found = await this.exec(ACK_READ_SQL, [
      JSON.stringify(asked.map((a) => [a.clientId, a.seq])),
    ]);
    const byOrd = new Map(found.map((r) => [Number(r.ord), r]));
    const results: AckResult[] = asked.map(() => ({ acked: false }));
    const receipts = asked.map((a, i) => {
      const d = byOrd.get(i + 1);
      if (!d || d.kind !== "envelope" || d.sender_client === null) return null;
      return receiptFor(d, String(d.envelope_id), a.clientId, "delivered", a.now);
    });
    if (byOrd.size === 0) return results;
    const rows = await this.exec(ACK_WRITE_SQL, [
      JSON.stringify(asked.flatMap((a, i) => {
        if (!byOrd.has(i + 1)) return [];
        const r = receipts[i];
        return [[a.clientId, a.seq, a.now, r?.client_id ?? null, r?.body ?? null]];
      })),
    ]);
    // The written array skipped the rows found not pending: map its ords back.
    const sent = asked.flatMap((_, i) => byOrd.has(i + 1) ? [i] : []);
    const marked = (rows[0]!.marked as number[]).map((ord) => sent[ord - 1]!);
    const seqs = rows[0]!.seqs as number[];
    let next = 0;
    for (const i of marked) {
      const r = receipts[i];
      const d = byOrd.get(i + 1)!;
      results[i] = r
        ? {
          acked: true,
          receipt: { client_id: r.client_id, seq: Number(seqs[next++]), body: r.body },
          accepted_at: Number(d.accepted_at),
        }
        : { acked: true };
    }
    return results;
  }
}
