/**
 * Runs several flows (flow.ts) in one PostgreSQL transaction in lockstep: the steps the flows
 * ask for at the same point are merged, per statement, into one multi-row statement when
 * there is one below (else they are pipelined one each). The acks of one turn — each an
 * UPDATE, a SELECT and an INSERT — cost three statements together instead of three each
 * (issue 21). The flows stay the one home of what an operation does; this only batches SQL.
 * @module
 */
import type { Flow, Param, QueryName, Row, Step } from "./flow.ts";

/**
 * Multi-row forms, by statement: `$n` is the array of every step's n-th parameter (as text),
 * and each result row carries `ord`, the 1-based index of the step it answers.
 */
const MANY: Partial<Record<QueryName, string>> = {
  deliveryAck: `WITH x AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
      WITH ORDINALITY AS x(done_at, seq, client_id, ord))
    UPDATE deliveries d SET state = 'delivered', done_at = x.done_at::bigint FROM x
    WHERE d.seq = x.seq::bigint AND d.client_id = x.client_id AND d.state = 'pending'
    RETURNING x.ord, d.kind, d.envelope_id`,
  envelopeForReceipt: `SELECT x.ord, e.sender_client, e.recipients, e.accepted_at
    FROM unnest($1::text[]) WITH ORDINALITY AS x(id, ord) JOIN envelopes e ON e.id = x.id`,
  // Sequence values follow the ORDER BY: the n-th smallest seq is the n-th row.
  receiptAdd: `INSERT INTO deliveries (client_id, kind, envelope_id, body, created_at)
    SELECT c, 'receipt', e, b, t::bigint FROM unnest($1::text[], $2::text[], $3::text[],
      $4::text[]) WITH ORDINALITY AS x(c, e, b, t, ord) ORDER BY ord RETURNING seq`,
};

/** Runs one statement with parameters on the transaction's connection. */
export type RunSql = (text: string, params: unknown[]) => Promise<Row[] & { count: number }>;

/** One flow's end: its value, or what it threw. */
export type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Runs `flows` to their ends, merging their same-named steps. `one` runs a single step (the
 * store's executor). Resolves with each flow's end, in order; rejects when a statement fails
 * (the transaction is then lost for all of them).
 */
export async function runLockstep(
  flows: Flow<unknown>[],
  one: (step: Step) => Promise<Row[] | number>,
  sql: RunSql,
): Promise<Settled[]> {
  const ends: (Settled | undefined)[] = new Array(flows.length);
  const waiting = new Map<number, Step>();
  const advance = (i: number, input?: Row[] | number) => {
    try {
      const next = flows[i]!.next(input);
      if (next.done) ends[i] = { ok: true, value: next.value };
      else waiting.set(i, next.value);
    } catch (error) {
      ends[i] = { ok: false, error };
    }
  };
  flows.forEach((_, i) => advance(i));
  while (waiting.size > 0) {
    const byName = new Map<QueryName, [number, Step][]>();
    for (const [i, step] of waiting) {
      byName.set(step.name, [...(byName.get(step.name) ?? []), [i, step]]);
    }
    waiting.clear();
    const results = await Promise.all(
      [...byName].map(([name, steps]) => runSteps(name, steps, one, sql)),
    );
    for (const answered of results) for (const [i, result] of answered) advance(i, result);
  }
  return ends as Settled[];
}

async function runSteps(
  name: QueryName,
  steps: [number, Step][],
  one: (step: Step) => Promise<Row[] | number>,
  sql: RunSql,
): Promise<[number, Row[] | number][]> {
  const many = MANY[name];
  if (!many || steps.length === 1) {
    return await Promise.all(steps.map(async ([i, s]) => [i, await one(s)] as const)) as [
      number,
      Row[] | number,
    ][];
  }
  const columns = steps[0]![1].params.map((_, n) =>
    steps.map(([, s]) => text(s.params[n] ?? null))
  );
  const rows = await sql(many, columns);
  if (name === "receiptAdd") {
    const seqs = rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
    return steps.map(([i], k) => [i, [{ seq: seqs[k] }]]);
  }
  const byOrd = new Map<number, Row>(rows.map((r) => [Number(r.ord), r]));
  return steps.map(([i, s], k) => {
    const r = byOrd.get(k + 1);
    return [i, s.want === "count" ? (r ? 1 : 0) : r ? [r] : []];
  });
}

function text(p: Param): string | null {
  return p === null ? null : String(p);
}
