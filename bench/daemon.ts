/**
 * Daemon suite: what an agent sees through the loopback API, and how fast TaskFerry starts.
 *
 * - A relay and two daemons in this process (temp homes, port 0); @alice/a and @bob/b connect
 *   through the SDK. One case is `POST /v1/messages` on alice until bob's daemon reports the
 *   item in @bob/b's inbox (the `inbox` event on `GET /v1/events`, the SSE stream an agent
 *   would hold open): sequential latency, then messages/s with many in flight.
 * - The same, waiting with the long poll `GET /v1/inbox?wait=` instead of SSE.
 * - The same with the relay and both daemons as child processes, as deployed (daemon_procs.ts).
 * - A worker's progress line → the requester's `task_progress` event (daemon_progress.ts).
 * - Cold start of `main.ts relay` and `main.ts client` as processes (spawn → answering health),
 *   and the size of `deno bundle` of main.ts (daemon_startup.ts).
 * @module
 */
import { join } from "node:path";
import { startDaemon } from "../lib/client/mod.ts";
import { setLogLevel } from "../lib/log.ts";
import { generateToken, hashToken, openSqliteRelayStore, startRelay } from "../lib/relay/mod.ts";
import { TaskferryClient } from "../lib/sdk/mod.ts";
import { progressLatency } from "./daemon_progress.ts";
import { multiProcess } from "./daemon_procs.ts";
import { bundleSize, coldStarts } from "./daemon_startup.ts";
import type { BenchOptions, BenchRow } from "./main.ts";
import { EventWatch } from "./event_watch.ts";

const SUITE = "daemon";
/** The requester and the worker agent of {@link startWorld}. */
export const ALICE = "@alice/a";
/** @see ALICE */
export const BOB = "@bob/b";
const IN_FLIGHT = 32;

/** Percentile (0..100) of sorted values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ]!;
}

function ms(value: number): string {
  return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(1)} ms`;
}

function latencies(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `p50 ${ms(percentile(sorted, 50))}, p99 ${ms(percentile(sorted, 99))}, max ${
    ms(sorted.at(-1) ?? NaN)
  }`;
}

/**
 * CPU time (ms) this process's main thread has used — where the relay, both daemons and the
 * client all run — from /proc's schedstat (Linux, ns resolution), or NaN elsewhere. Unlike wall
 * time it hardly moves when other processes compete for the cores: the figure to compare
 * changes with on a shared machine.
 */
function mainThreadCpuMs(): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/self/task/${Deno.pid}/schedstat`);
    return Number(stat.split(" ")[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/** ", main thread N ms CPU per message" (nothing where /proc is missing). */
function cpuNote(cpuMs: number, messages: number): string {
  return Number.isFinite(cpuMs) ? `; main thread ${ms(cpuMs / messages)} CPU per message` : "";
}

/** Resolves with `promise`, or after `ms` whatever happens (a close must not hang the run). */
async function bounded<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function until<T>(what: string, check: () => Promise<T | undefined | null | false>) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Bob's inbox events over SSE: `arrived(id)` resolves when the `inbox` event for message `id`
 * comes (or came) in.
 */
export class InboxEvents extends EventWatch {
  constructor(url: string, token: string, agent: string) {
    super(url, token, agent, (event, data) => event === "inbox" ? String(data.id) : null);
  }

  /** The time (performance.now) the inbox event for `id` arrived. */
  arrived(id: string, timeoutMs = 30_000): Promise<number> {
    return this.when(id, timeoutMs);
  }
}

/** A relay and two connected daemons in this process. */
export async function startWorld() {
  const dir = await Deno.makeTempDir({ prefix: "tf-bench-daemon-" });
  const store = openSqliteRelayStore(join(dir, "relay.db"));
  const relay = await startRelay({ store, port: 0 });
  const closers: (() => Promise<void>)[] = [async () => await relay.close()];
  const close = async () => {
    for (const c of closers.reverse()) {
      if (await bounded(c().then(() => true, () => true), 10_000) === undefined) {
        console.error("  warning: a daemon or the relay did not close within 10 s");
      }
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const daemon = async (clientId: string) => {
      const token = generateToken(clientId);
      await store.addClient(clientId, await hashToken(token), Date.now());
      const running = await startDaemon({
        home: join(dir, clientId),
        clientId,
        relayUrl: relay.url,
        relayToken: token,
        port: 0,
        dashboard: false,
      });
      closers.push(() => running.close());
      return { running, api: new TaskferryClient({ url: running.url, token: running.token }) };
    };
    const alice = await daemon("alice");
    const bob = await daemon("bob");
    await alice.api.createAgent({ handle: ALICE });
    await bob.api.createAgent({ handle: BOB, public: true });
    await until(
      "both daemons on the relay",
      async () =>
        (await alice.api.health()).relay.connected && (await bob.api.health()).relay.connected,
    );
    await alice.api.connect({ from: ALICE, to: BOB });
    await bob.api.waitForInbox(BOB, (m) => m.type === "connection_request");
    // The link's rate limit (default 600/min) is raised by bob, as an owner would.
    await bob.api.acceptConnection(ALICE, { permissions: { max_rate_per_minute: 100_000 } });
    await alice.api.waitForInbox(ALICE, (m) => m.type === "connection_accept");
    await until(
      "raised rate limit at the relay",
      async () => (await store.getLink(ALICE, BOB))?.max_rate_per_minute === 100_000,
    );
    return { relay, alice, bob, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export type World = Awaited<ReturnType<typeof startWorld>>;

/** One message alice → bob; resolves with [POST answered, inbox event] times since start. */
export async function oneMessage(
  world: { alice: { api: TaskferryClient } },
  events: InboxEvents,
  text: string,
) {
  const start = performance.now();
  const sent = await world.alice.api.send({ from: ALICE, to: BOB, text });
  const posted = performance.now() - start;
  const arrived = (await events.arrived(sent.message.id)) - start;
  return { posted, arrived };
}

/** Alice → bob with bob waiting by long poll; resolves with the latency. */
async function oneLongPoll(world: World, after: number, text: string) {
  const start = performance.now();
  const poll = world.bob.api.inbox({ agent: BOB, after, wait: 10 });
  // The poll must be waiting at the daemon before the message leaves: give it a moment.
  await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  const sent = await world.alice.api.send({ from: ALICE, to: BOB, text });
  let page = await poll;
  while (!page.items.some((m) => m.id === sent.message.id)) {
    page = await world.bob.api.inbox({ agent: BOB, after: page.next_after, wait: 10 });
  }
  const done = performance.now();
  return { latency: done - t0, after: page.next_after, overhead: t0 - start };
}

/**
 * The daemons' relay links use lib/client/ws.ts (TCP_NODELAY, one write per frame). Deno's
 * built-in client stalled ~44 ms per envelope here (Nagle + delayed ACK; docs/benchmarks.md).
 */
const LINK_LABEL = "relay link as shipped (lib/client/ws.ts, TCP_NODELAY)";

async function messaging(opts: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const world: World = await startWorld();
  const events = new InboxEvents(world.bob.running.url, world.bob.running.token, BOB);
  try {
    await events.ready;
    const text = "benchmark message ".repeat(20); // ~360 B of text, an envelope of ~1.2 kB
    for (let i = 0; i < 20; i++) await oneMessage(world, events, text); // warm-up

    const count = opts.quick ? 100 : 300;
    const posted: number[] = [];
    const arrived: number[] = [];
    const cpu0 = mainThreadCpuMs();
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const r = await oneMessage(world, events, text);
      posted.push(r.posted);
      arrived.push(r.arrived);
    }
    const seconds = (performance.now() - started) / 1000;
    const seqCpu = mainThreadCpuMs() - cpu0;
    const sorted = [...arrived].sort((a, b) => a - b);
    rows.push({
      suite: SUITE,
      name: "POST /v1/messages → peer inbox event (SSE), sequential",
      runs: count,
      seconds,
      rate: count / seconds,
      note: `${latencies(arrived)}; the POST itself ${latencies(posted)}${cpuNote(seqCpu, count)}`,
    });
    console.error(`  sequential: p50 ${ms(percentile(sorted, 50))}`);

    const total = opts.quick ? 300 : 1000;
    const concurrent: number[] = [];
    let next = 0;
    const cpu1 = mainThreadCpuMs();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (next < total) {
        next++;
        concurrent.push((await oneMessage(world, events, text)).arrived);
      }
    }));
    const elapsed = (performance.now() - t0) / 1000;
    const concurrentCpu = mainThreadCpuMs() - cpu1;
    rows.push({
      suite: SUITE,
      name: `POST /v1/messages → peer inbox event (SSE), ${IN_FLIGHT} in flight`,
      runs: total,
      seconds: elapsed,
      rate: total / elapsed,
      note: `messages/s end to end; ${latencies(concurrent)}${cpuNote(concurrentCpu, total)}`,
    });
    console.error(
      `  ${IN_FLIGHT} in flight: ${Math.round(total / elapsed)}/s${cpuNote(concurrentCpu, total)}`,
    );

    console.error("  long poll…");
    const polls = opts.quick ? 20 : 50;
    let after = (await world.bob.api.inbox({ agent: BOB, after: "latest" })).next_after;
    const polled: number[] = [];
    const p0 = performance.now();
    let waitedMs = 0;
    for (let i = 0; i < polls; i++) {
      const r = await oneLongPoll(world, after, text);
      after = r.after;
      polled.push(r.latency);
      waitedMs += r.overhead;
    }
    rows.push({
      suite: SUITE,
      name: "POST /v1/messages → peer long poll GET /v1/inbox?wait= answers, sequential",
      runs: polls,
      seconds: (performance.now() - p0 - waitedMs) / 1000,
      rate: polls / ((performance.now() - p0 - waitedMs) / 1000),
      note: latencies(polled),
    });
    rows.push(await progressLatency(world, { requester: ALICE, worker: BOB }, opts, latencies));
  } finally {
    console.error("  closing…");
    await events.close();
    await world.close();
  }
  for (const row of rows) row.name += `; ${LINK_LABEL}`;
  return rows;
}

/** Runs the daemon suite. */
export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  if (!Deno.env.get("TASKFERRY_LOG_LEVEL")) setLogLevel("warn");
  return [
    ...await messaging(opts),
    ...await multiProcess(opts, IN_FLIGHT, latencies),
    ...await coldStarts(opts, ms),
    await bundleSize(),
  ];
}
