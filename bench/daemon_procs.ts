/**
 * The daemon case as deployed: the relay and both daemons as child processes (`main.ts relay`,
 * `main.ts client`), the SDK client and the SSE reader in the bench process. In production each
 * runs on its own machine; here all of them share this machine's cores, so the figure is bounded
 * by the sum of their CPU as much as by any one of them. The in-process case (bench/daemon.ts)
 * stays the one to compare CPU per message with: only there is all of it on one measured thread.
 *
 * Profiling: `TF_BENCH_INSPECT=9231 deno task bench --suite daemon` starts alice with
 * `--inspect=127.0.0.1:9231` and bob with 9232, records both during the in-flight case with
 * bench/cpuprofile.ts (which then runs for as long as the profiles take) and prints their
 * summaries to stderr; the raw profiles go to the temp directory named there.
 * @module
 */
import { join } from "node:path";
import { openSqliteRelayStore } from "../lib/relay/mod.ts";
import { TaskferryClient } from "../lib/sdk/mod.ts";
import { addRelayClient, childEnv, freePort, startRelayNode } from "../tests/relay/relay_nodes.ts";
import { ALICE, BOB, InboxEvents, oneMessage } from "./daemon.ts";
import type { BenchOptions, BenchRow } from "./main.ts";
import { processCpuMs } from "./proc_cpu.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** A daemon child process and the SDK client of its loopback API. */
interface DaemonProc {
  child: Deno.ChildProcess;
  url: string;
  token: string;
  api: TaskferryClient;
}

async function until<T>(what: string, check: () => Promise<T | undefined | null | false>) {
  const deadline = Date.now() + 60_000; // cold starts on a busy 2-core machine
  while (Date.now() < deadline) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** `main.ts client` for `clientId` with its own home; resolves once its API answers. */
async function startDaemonProc(
  home: string,
  clientId: string,
  relayUrl: string,
  relayToken: string,
  inspect?: number,
): Promise<DaemonProc> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...(inspect ? [`--inspect=127.0.0.1:${inspect}`] : []), MAIN, "client"],
    env: {
      ...childEnv(),
      TASKFERRY_HOME: home,
      TASKFERRY_CLIENT_ID: clientId,
      TASKFERRY_RELAY_URL: relayUrl,
      TASKFERRY_RELAY_TOKEN: relayToken,
      TASKFERRY_CLIENT_ADDR: `127.0.0.1:${freePort()}`,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: inspect ? "inherit" : "null", // the inspector's messages
  }).spawn();
  try {
    const url = await until("daemon.json", async () => {
      const info = JSON.parse(await Deno.readTextFile(join(home, "daemon.json")));
      return typeof info.url === "string" ? info.url as string : null;
    });
    const token = (await Deno.readTextFile(join(home, "local-token"))).trim();
    const api = new TaskferryClient({ url, token });
    await until(`${clientId} on the relay`, async () => (await api.health()).relay.connected);
    return { child, url, token, api };
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
}

async function stop(child: Deno.ChildProcess) {
  try {
    child.kill("SIGTERM");
  } catch {
    return; // already gone
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await child.status;
  clearTimeout(timer);
}

/** The inspector port of alice (bob's is the next), when TF_BENCH_INSPECT asks for profiles. */
const INSPECT = Number(Deno.env.get("TF_BENCH_INSPECT") ?? 0) || undefined;
const PROFILE = new URL("./cpuprofile.ts", import.meta.url).pathname;

/** Records `seconds` of CPU profile on each inspector port; resolves with the summaries. */
async function profiles(ports: number[], seconds: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tf-bench-profile-" });
  const outs = await Promise.all(ports.map((port) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", PROFILE, "--port", `${port}`, "--seconds", `${seconds}`, "--top", "40"]
        .concat(["--out", join(dir, `${port}.cpuprofile`)]),
      stdout: "piped",
    }).output()
  ));
  return outs.map((o, i) =>
    `profile of port ${ports[i]} (${dir}):\n${new TextDecoder().decode(o.stdout)}`
  ).join("\n");
}

/** Relay and daemons as processes, alice and bob connected as in `startWorld`. */
async function startProcWorld() {
  const dir = await Deno.makeTempDir({ prefix: "tf-bench-procs-" });
  const children: Deno.ChildProcess[] = [];
  const close = async () => {
    for (const c of children.reverse()) await stop(c);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const db = join(dir, "relay.db");
    const relay = await startRelayNode(db);
    children.push(relay.child);
    const daemon = async (id: string, inspect?: number) => {
      const token = await addRelayClient(db, id);
      const d = await startDaemonProc(join(dir, id), id, relay.url, token, inspect);
      children.push(d.child);
      return d;
    };
    const alice = await daemon("alice", INSPECT);
    const bob = await daemon("bob", INSPECT && INSPECT + 1);
    await alice.api.createAgent({ handle: ALICE });
    await bob.api.createAgent({ handle: BOB, public: true });
    await alice.api.connect({ from: ALICE, to: BOB });
    await bob.api.waitForInbox(BOB, (m) => m.type === "connection_request");
    await bob.api.acceptConnection(ALICE, { permissions: { max_rate_per_minute: 100_000 } });
    await alice.api.waitForInbox(ALICE, (m) => m.type === "connection_accept");
    // The relay's own database says when the raised limit is in force (a second connection).
    const store = openSqliteRelayStore(db, { checkpoint: false });
    try {
      await until(
        "raised rate limit at the relay",
        async () => (await store.getLink(ALICE, BOB))?.max_rate_per_minute === 100_000,
      );
    } finally {
      await store.close();
    }
    const processes = { relay: relay.child.pid, alice: alice.child.pid, bob: bob.child.pid };
    return { alice, bob, processes, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The sequential and 32-in-flight cases with relay and daemons as separate processes. */
export async function multiProcess(
  opts: BenchOptions,
  inFlight: number,
  latencies: (values: number[]) => string,
): Promise<BenchRow[]> {
  console.error("  relay and daemons as processes…");
  const world = await startProcWorld();
  const events = new InboxEvents(world.bob.url, world.bob.token, BOB);
  const rows: BenchRow[] = [];
  try {
    await events.ready;
    const text = "benchmark message ".repeat(20);
    for (let i = 0; i < 50; i++) await oneMessage(world, events, text); // warm-up (JIT in 3 processes)
    const count = opts.quick ? 100 : 300;
    const arrived: number[] = [];
    const s0 = performance.now();
    for (let i = 0; i < count; i++) arrived.push((await oneMessage(world, events, text)).arrived);
    const seqSeconds = (performance.now() - s0) / 1000;
    rows.push({
      suite: "daemon",
      name:
        "POST /v1/messages → peer inbox event (SSE), sequential; relay and daemons as processes",
      runs: count,
      seconds: seqSeconds,
      rate: count / seqSeconds,
      note: latencies(arrived),
    });
    const total = opts.quick ? 300 : 2000;
    const concurrent: number[] = [];
    let next = 0;
    const pids = { ...world.processes, "bench client": "self" as const };
    const cpu0 = Object.values(pids).map(processCpuMs);
    const t0 = performance.now();
    // Profiling: the load goes on for as long as the profiles are recorded.
    let profiling = false;
    const profiled = INSPECT
      ? (profiling = true, profiles([INSPECT, INSPECT + 1], 8).finally(() => profiling = false))
      : undefined;
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < total || profiling) {
        next++;
        concurrent.push((await oneMessage(world, events, text)).arrived);
      }
    }));
    const elapsed = (performance.now() - t0) / 1000;
    const done = concurrent.length; // more than `total` while profiling
    if (profiled) console.error(await profiled);
    // Where the machine's CPU went, per message: the rate is bounded by the sum on 2 cores.
    const perMessage = Object.keys(pids).map((name, i) =>
      `${name} ${((processCpuMs(Object.values(pids)[i]!) - cpu0[i]!) / done).toFixed(2)}`
    ).join(", ");
    rows.push({
      suite: "daemon",
      name:
        `POST /v1/messages → peer inbox event (SSE), ${inFlight} in flight; relay and daemons as processes`,
      runs: done,
      seconds: elapsed,
      rate: done / elapsed,
      note: `messages/s end to end; ${latencies(concurrent)}; CPU ms per message (all threads): ` +
        `${perMessage}; 3 deno processes + this one share ` +
        `the machine's ${navigator.hardwareConcurrency} cores`,
    });
    console.error(
      `  ${inFlight} in flight, processes: ${Math.round(done / elapsed)}/s; ${perMessage}`,
    );
  } finally {
    await events.close();
    await world.close();
  }
  return rows;
}
