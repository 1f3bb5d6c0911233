/**
 * CPU per envelope of the SQLite relay store alone, through the calls the relay makes: each turn
 * 64 grouped accepts (envelope and delivery rows) from 10 senders to 10 recipients, the acks of
 * the previous turn's deliveries and of the receipts they queued, one COMMIT. No sockets, no
 * signatures, one thread: on a shared machine this moves far less than the end-to-end runs, so
 * it is how a store change is compared (issue 21, third pass).
 *
 *   deno run -A --lock=tests/deno.lock bench/relay_store.ts [rounds]
 * @module
 */
import { cpuUsage } from "node:process";
import { openSqliteRelayStore } from "../lib/relay/sqlite_store.ts";
import type { EnvelopeRow } from "../lib/relay/store.ts";

/** A body of the relay suite's size (~1.9 KB). */
const BODY = JSON.stringify({ payload: "y".repeat(1900) });
const TURN = 64;
const PAIRS = 10;

interface Queued {
  client_id: string;
  seq: number;
}

/** One round of `count` envelopes on a fresh store; returns µs of CPU per envelope. */
async function round(count: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "tf-bench-store-" });
  const store = openSqliteRelayStore(`${dir}/relay.db`, { checkpoint: false });
  try {
    for (let c = 0; c < 2 * PAIRS; c++) await store.addClient(`c${c}`, "hash", 1);
    let next = 0;
    let deliveries: Queued[] = [];
    let receipts: Queued[] = [];
    const start = cpuUsage();
    for (let t = 0; t < count / TURN; t++) {
      const queued: Queued[] = [];
      const accepts = Array.from({ length: TURN }, (_, i) => {
        const k = i % PAIRS;
        const row: EnvelopeRow = {
          id: `msg_${String(next++).padStart(26, "0")}`,
          sender_client: `c${k}`,
          from: `@c${k}/a`,
          to: [`@c${k + PAIRS}/b`],
          type: "message",
          body: BODY,
          accepted_at: Date.now(),
        };
        return store.grouped(async (s) => {
          await s.insertEnvelope(row);
          queued.push(...await s.queueEnvelope(row, [`c${k + PAIRS}`], {}));
        }, () => {});
      });
      const acked = deliveries.map((d) => store.ackDelivery(d.client_id, d.seq, Date.now()));
      const receiptAcks = receipts.map((d) => store.ackDelivery(d.client_id, d.seq, Date.now()));
      await Promise.all([...accepts, ...receiptAcks]);
      receipts = (await Promise.all(acked)).flatMap((r) => r.receipt ? [r.receipt] : []);
      deliveries = queued;
    }
    const used = cpuUsage(start);
    return (used.user + used.system) / count;
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 5);
  await round(2048); // warm-up: JIT, page cache
  const results: number[] = [];
  for (let r = 0; r < rounds; r++) results.push(await round(6400));
  const sorted = [...results].sort((a, b) => a - b);
  console.log(
    `SQLite relay store: ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} µs CPU/envelope ` +
      `(median of ${rounds}: ${results.map((r) => r.toFixed(1)).join(", ")})`,
  );
}
