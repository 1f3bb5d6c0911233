/**
 * The SQLite relay store's acks, batched per COMMIT (issue 21). The acks asked for in one turn
 * of the event loop run as one write of the group commit (sqlite_group.ts): one savepoint, and
 * per client one DELETE for all of its seqs, instead of a savepoint and an UPDATE per ack.
 * Deleting, not marking, as on PostgreSQL (pg_acks.ts): marking rewrote the row and three index
 * entries and left the row for the prune; each acking client's newest ack goes to `client_acks`
 * ("last seen", sqlite_queries.ts) instead. What the `delivered` receipt needs from the
 * envelope comes from memory (sqlite_receipts.ts), else from the envelope's row. The outcome of
 * each ack is the one {@link flows.ackDelivery} gives (both dialects' shared definition): acked
 * once, idempotent, receipts queued in the order of the acks of each client. If the batch
 * throws (an I/O error, say), its savepoint is undone and each ack runs again alone through
 * that flow, so one failure stays that ack's own (that flow marks the row delivered; the prune
 * removes it later, and "last seen" reads both).
 * @module
 */
import { type DatabaseSync, prepare } from "../../store/mod.ts";
import type { QueuedReceipt } from "./flows.ts";
import { receiptFor } from "./rules.ts";
import { SQLITE_QUERIES } from "./sqlite_queries.ts";
import type { ReceiptFactsCache } from "./sqlite_receipts.ts";

/** What an ack answers (see `RelayStore.ackDelivery`). */
export interface AckResult {
  acked: boolean;
  receipt?: QueuedReceipt;
  accepted_at?: number;
}

/** One ack waiting for the batch. */
export interface AckItem {
  clientId: string;
  seq: number;
  now: number;
}

/**
 * Seqs per UPDATE at most: a session acks up to its window per turn; bounding the list bounds
 * the distinct statement texts the statement cache keeps (one per length).
 */
const CHUNK = 32;

/** The merged ack of `n` seqs (`n` placeholders), built once per `n`. */
const ACK_SQL = Array.from(
  { length: CHUNK + 1 },
  (_, n) =>
    `DELETE FROM deliveries
    WHERE client_id = ? AND state = 'pending' AND seq IN (${"?,".repeat(Math.max(0, n - 1))}?)
    RETURNING seq, kind, envelope_id`,
);

/** A client's newest ack: what "last seen" reads now that acked rows are gone. */
const SEEN_SQL = `INSERT INTO client_acks (client_id, acked_at) VALUES (?, ?)
  ON CONFLICT (client_id) DO UPDATE SET acked_at = max(acked_at, excluded.acked_at)`;

/**
 * Runs `items` (inside the caller's transaction) and answers each, in order. Rows come back
 * from RETURNING in no promised order; answers and receipt inserts follow `items`.
 */
export function runAcks(
  db: DatabaseSync,
  items: readonly AckItem[],
  facts: ReceiptFactsCache,
): AckResult[] {
  // Each client's seqs, in the order they were acked.
  const byClient = new Map<string, AckItem[]>();
  for (const item of items) {
    const list = byClient.get(item.clientId);
    if (list) list.push(item);
    else byClient.set(item.clientId, [item]);
  }
  const done = new Map<string, Map<number, Record<string, unknown>>>();
  for (const [clientId, list] of byClient) {
    const rows = new Map<number, Record<string, unknown>>();
    for (let i = 0; i < list.length; i += CHUNK) {
      const seqs = list.slice(i, i + CHUNK).map((x) => x.seq);
      const returned = prepare(db, ACK_SQL[seqs.length]!).all(clientId, ...seqs);
      for (const r of returned) rows.set(Number(r.seq), r);
    }
    // The newest of the acks that found their rows, as on PostgreSQL.
    const seen = list.reduce((m, i) => rows.has(i.seq) ? Math.max(m, i.now) : m, -1);
    if (seen >= 0) prepare(db, SEEN_SQL).run(clientId, seen);
    done.set(clientId, rows);
  }
  const insertReceipt = prepare(db, SQLITE_QUERIES.receiptAdd!);
  const readEnvelope = prepare(db, SQLITE_QUERIES.envelopeForReceipt!);
  return items.map(({ clientId, seq, now }): AckResult => {
    const rows = done.get(clientId)!;
    const r = rows.get(seq);
    // Unknown, not pending, or already acked earlier in this batch: as a repeated ack.
    if (!r) return { acked: false };
    rows.delete(seq);
    if (r.kind !== "envelope") return { acked: true };
    const envelopeId = String(r.envelope_id);
    const env = facts.take(envelopeId) ?? readEnvelope.get(envelopeId);
    if (!env) return { acked: true };
    const { client_id, body } = receiptFor(env, envelopeId, clientId, "delivered", now);
    const receiptSeq = Number(insertReceipt.run(client_id, envelopeId, body, now).lastInsertRowid);
    return {
      acked: true,
      receipt: { client_id, seq: receiptSeq, body },
      accepted_at: Number(env.accepted_at),
    };
  });
}
