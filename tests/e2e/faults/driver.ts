/**
 * The load and the checks of a fault run: alice's side sends N items (messages, every tenth a
 * task) through her loopback API with bounded concurrency, bob's side accepts every task it
 * sees, a fault plan runs alongside, and afterwards the run is checked: every item alice's API
 * accepted is in bob's agent's inbox exactly once, in alice's send order, and both daemons agree
 * on every message and task state.
 * @module
 */
import { ApiError, type TaskferryClient } from "../../../lib/sdk/mod.ts";
import { until } from "./procs.ts";
import { ALICE, BOB, type FaultWorld, readDb } from "./world.ts";

/** One item alice's side tried to send. */
export interface Item {
  i: number;
  kind: "message" | "task";
  /** accepted: 202 from the API; unknown: the connection died with the request in flight. */
  status: "accepted" | "unknown" | "refused";
  id?: string;
  taskId?: string;
  error?: string;
}

/** Resolves waiters as the accepted count grows (no polling). */
export class Progress {
  accepted = 0;
  private waiters: { at: number; resolve: () => void }[] = [];

  bump() {
    this.accepted++;
    for (const w of [...this.waiters]) {
      if (this.accepted >= w.at) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  /** Resolves once `n` items were accepted. */
  reach(n: number): Promise<void> {
    if (this.accepted >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ at: n, resolve }));
  }
}

/** A fault plan: runs alongside the sends; returns a description of what it did. */
export type FaultPlan = (world: FaultWorld, progress: Progress, n: number) => Promise<string[]>;

/** What a run observed. */
export interface RunReport {
  scenario: string;
  n: number;
  attempted: number;
  accepted: number;
  unknown: number;
  unknownDelivered: number;
  refused: number;
  delivered: number;
  duplicates: number;
  inOrder: boolean;
  tasks: number;
  tasksAgree: boolean;
  messagesDelivered: number;
  faults: string[];
  seconds: number;
}

/** True when `err` means the daemon could not be reached (outcome of the request unknown). */
function unreachable(err: unknown): boolean {
  return err instanceof ApiError && err.status === 0;
}

/** Waits (bounded polling of the local API) until the daemon answers again. */
async function healthy(api: TaskferryClient, ms = 60_000) {
  await until("daemon API back", async () => (await api.health()).status === "ok", ms, 20);
}

/** Sends until `n` items were accepted; concurrency-bounded. */
async function sendAll(world: FaultWorld, n: number, progress: Progress, concurrency: number) {
  const items: Item[] = [];
  let next = 0;
  let inflight = 0;
  const worker = async () => {
    while (progress.accepted + inflight < n) {
      const i = next++;
      const kind = i % 10 === 9 ? "task" : "message";
      const item: Item = { i, kind, status: "unknown" };
      items.push(item);
      inflight++;
      try {
        const api = world.alice.api;
        if (kind === "task") {
          const r = await api.createTask({
            from: ALICE,
            to: BOB,
            title: `item ${i}`,
            instructions: `fault run item ${i}`,
          });
          item.id = r.message.id;
          item.taskId = r.task.id;
        } else {
          const r = await api.send({ from: ALICE, to: BOB, text: `item ${i}`, data: { i } });
          item.id = r.message.id;
        }
        item.status = "accepted";
        inflight--;
        progress.bump();
      } catch (err) {
        inflight--;
        if (unreachable(err)) {
          item.status = "unknown";
          await healthy(world.alice.api);
        } else {
          item.status = "refused";
          item.error = String(err);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return items;
}

/** Bob's side: accepts every task_request that reaches @bob/writer's inbox. */
function startWorker(world: FaultWorld) {
  const ac = new AbortController();
  const accepted = new Set<string>();
  let after = world.cursor;
  const loop = async () => {
    while (!ac.signal.aborted) {
      let page;
      try {
        page = await world.bob.api.inbox({ agent: BOB, after, wait: 5, limit: 500 }, ac.signal);
      } catch (err) {
        if (ac.signal.aborted) return;
        if (unreachable(err)) await healthy(world.bob.api).catch(() => {});
        continue;
      }
      for (const item of page.items) {
        if (item.type !== "task_request" || !item.task_id) continue;
        for (;;) {
          try {
            await world.bob.api.acceptTask(item.task_id, { agent: BOB });
            break;
          } catch (err) {
            if (unreachable(err)) {
              if (ac.signal.aborted) return;
              await healthy(world.bob.api);
              continue;
            }
            // Accepted before the daemon died (the answer was lost): nothing left to do.
            if (err instanceof ApiError && err.code === "illegal_transition") break;
            throw err;
          }
        }
        accepted.add(item.task_id);
      }
      after = page.next_after;
    }
  };
  const done = loop();
  return {
    accepted,
    async stop() {
      ac.abort();
      await done;
    },
  };
}

/** Bob's whole inbox after the run's cursor, in inbox order. */
async function bobInbox(world: FaultWorld) {
  const out: { seq: number; id: string; type: string; from: string; task_id?: string }[] = [];
  let after = world.cursor;
  for (;;) {
    const page = await world.bob.api.inbox({ agent: BOB, after, limit: 500 });
    for (const m of page.items) {
      const row: (typeof out)[number] = { seq: m.seq!, id: m.id, type: m.type, from: m.from };
      if (m.task_id) row.task_id = m.task_id;
      out.push(row);
    }
    if (page.items.length < 500) return out;
    after = page.next_after;
  }
}

/**
 * Runs one scenario: sends `n` items while `plan` injects faults, waits for the system to
 * settle, checks every guarantee and returns the counts.
 */
export async function runScenario(
  world: FaultWorld,
  scenario: string,
  n: number,
  plan: FaultPlan,
  opts: { concurrency?: number; settleMs?: number } = {},
): Promise<RunReport> {
  const started = Date.now();
  const progress = new Progress();
  const worker = startWorker(world);
  let items: Item[];
  let faults: string[];
  try {
    [items, faults] = await Promise.all([
      sendAll(world, n, progress, opts.concurrency ?? 4),
      plan(world, progress, n),
    ]);
  } catch (err) {
    await worker.stop().catch(() => {});
    throw err;
  }
  const settleMs = opts.settleMs ?? 60_000;
  const accepted = items.filter((x) => x.status === "accepted");
  const acceptedIds = new Set(accepted.map((x) => x.id!));
  const tasks = accepted.filter((x) => x.kind === "task");
  try {
    // 1. Every accepted item reaches bob's agent.
    await until(
      "every accepted item in bob's inbox",
      async () => {
        const inbox = await bobInbox(world);
        const ids = new Set(inbox.map((x) => x.id));
        return [...acceptedIds].every((id) => ids.has(id));
      },
      settleMs,
      100,
    );
    // 2. Bob accepted every task and alice sees each as accepted.
    await until(
      "both sides agree on every task",
      async () => {
        if (!tasks.every((t) => worker.accepted.has(t.taskId!))) return false;
        for (const t of tasks) {
          const [a, b] = await Promise.all([
            world.alice.api.task(t.taskId!),
            world.bob.api.task(t.taskId!),
          ]);
          if (a.task.state !== "accepted" || b.task.state !== "accepted") return false;
        }
        return true;
      },
      settleMs,
      100,
    );
    // 3. Every envelope either side sent is delivered (the peer's signed receipt) or later;
    //    receipts themselves are not answered, so they end `relayed`.
    await until(
      "every outbound message delivered on both sides",
      () =>
        Promise.resolve(
          [world.alice, world.bob].every((d) =>
            readDb(d.dbPath, (db) => {
              const open = db.prepare(
                `SELECT count(*) AS n FROM messages WHERE direction = 'out'
                 AND state NOT IN ('delivered', 'read', 'processed')
                 AND NOT (type = 'receipt' AND state = 'relayed')`,
              ).get() as { n: number };
              const pending = db.prepare(
                "SELECT count(*) AS n FROM outbox WHERE state != 'accepted'",
              ).get() as { n: number };
              return open.n === 0 && pending.n === 0;
            })
          ),
        ),
      settleMs,
      100,
    );
  } finally {
    await worker.stop();
  }

  const inbox = await bobInbox(world);
  const counts = new Map<string, number>();
  for (const x of inbox) counts.set(x.id, (counts.get(x.id) ?? 0) + 1);
  const duplicates = inbox.length - counts.size;
  // Alice's send order is her outbox order (the order her API committed the items).
  const sendOrder = readDb(world.alice.dbPath, (db) =>
    (db.prepare(
      `SELECT o.id FROM outbox o JOIN messages m ON m.id = o.id AND m.direction = 'out'
       WHERE m.type IN ('message', 'task_request') ORDER BY o.seq`,
    ).all() as { id: string }[]).map((r) => r.id));
  const inboxOrder = inbox.filter((x) => x.from === ALICE).map((x) => x.id);
  const inOrder = JSON.stringify(sendOrder) === JSON.stringify(inboxOrder);
  const unknownIds = new Set(sendOrder.filter((id) => !acceptedIds.has(id)));
  const stateRows = readDb(world.alice.dbPath, (db) =>
    db.prepare(
      `SELECT count(*) AS n FROM messages WHERE direction = 'out'
         AND type IN ('message', 'task_request') AND state IN ('delivered', 'read', 'processed')`,
    ).get() as { n: number });
  const bobStates = readDb(world.bob.dbPath, (db) =>
    db.prepare(
      `SELECT count(*) AS n FROM messages WHERE direction = 'in' AND from_handle = ?
         AND state = 'received'`,
    ).get(ALICE) as { n: number });
  let tasksAgree = true;
  for (const t of tasks) {
    const [a, b] = await Promise.all([
      world.alice.api.task(t.taskId!),
      world.bob.api.task(t.taskId!),
    ]);
    if (a.task.state !== b.task.state) tasksAgree = false;
  }
  return {
    scenario,
    n,
    attempted: items.length,
    accepted: accepted.length,
    unknown: items.filter((x) => x.status === "unknown").length,
    unknownDelivered: unknownIds.size,
    refused: items.filter((x) => x.status === "refused").length,
    delivered: counts.size,
    duplicates,
    inOrder,
    tasks: tasks.length,
    tasksAgree,
    messagesDelivered: Math.min(stateRows.n, bobStates.n),
    faults,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
}
