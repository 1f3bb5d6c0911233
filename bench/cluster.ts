/**
 * Cluster suite: relay throughput on PostgreSQL with one node and with two nodes (separate
 * processes; every envelope crossing nodes, then half of them as a balancer placing clients at
 * random would), next to one node on SQLite
 * (the default store) under the same load. Pre-sealed envelopes; the
 * simulated daemons (this process) ack every delivery. All processes — nodes, PostgreSQL and
 * this load generator — share this machine's cores, so the figure shows correctness of the
 * scale-out under load, not the gain a second machine would bring.
 * @module
 */
import {
  encodeBase64Url,
  generateAgentKeys,
  newId,
  registrationInput,
  sign,
} from "../lib/protocol/mod.ts";
import { NoDelayWebSocket } from "../lib/client/ws.ts";
import { generateToken, hashToken, openSqliteRelayStore } from "../lib/relay/mod.ts";
import { openPgRelayStore } from "../lib/relay/pg_store.ts";
import { postgresBin, startPostgres } from "../tests/relay/pg.ts";
import type { BenchOptions, BenchRow } from "./main.ts";
import { processCpuMs } from "./proc_cpu.ts";
import { type Agent, sealFrame } from "./relay_world.ts";

type Sql = Awaited<ReturnType<typeof openPgRelayStore>>["sql"];

const SUITE = "cluster";
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const WINDOW = 32;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts a relay node. `inspect`: an inspector port, for bench/cpuprofile.ts (TF_BENCH_INSPECT
 * sets it for the node of the one-node PostgreSQL run; with TF_BENCH_INSPECT_NODES=2, for the
 * two nodes of the every-envelope-crosses run instead, the second on the next port).
 */
async function startNode(db: string, inspect?: string) {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(inspect ? [`--inspect=127.0.0.1:${inspect}`] : []),
      MAIN,
      "relay",
      "--db",
      db,
      "--addr",
      `127.0.0.1:${port}`,
      "--rate-limit",
      "10000000",
    ],
    env: { ...Deno.env.toObject(), TASKFERRY_LOG_LEVEL: "error" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 400; i++) {
    if (await fetch(`${url}/health`).then((r) => r.body?.cancel().then(() => r.ok), () => false)) {
      return {
        url,
        pid: child.pid,
        stop: async () => (child.kill("SIGTERM"), await child.status),
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error("relay node did not start");
}

/** A simulated daemon: one WebSocket, acks everything delivered. */
class Sim {
  ws!: NoDelayWebSocket;
  readonly waiters = new Map<string, (frame: Record<string, unknown>) => void>();
  onDeliver: (id: string) => void = () => {};

  static async connect(url: string, clientId: string, token: string, deviceId: string) {
    const sim = new Sim();
    sim.ws = new NoDelayWebSocket(url.replace(/^http/, "ws") + "/v1/ws");
    await new Promise((r, j) => {
      sim.ws.addEventListener("open", r, { once: true });
      sim.ws.addEventListener("close", () => j(new Error("closed")), { once: true });
    });
    const welcome = new Promise((r) => sim.waiters.set("welcome", r));
    sim.ws.addEventListener("message", (e) => {
      const f = JSON.parse((e as MessageEvent).data) as Record<string, unknown>;
      if (f.type === "deliver" || f.type === "receipt") {
        sim.ws.send(`{"type":"ack","seq":${f.seq}}`);
        if (f.type === "deliver") sim.onDeliver(String((f.envelope as { id: string }).id));
      }
      const key = f.type === "welcome" ? "welcome" : String(f.id ?? "");
      sim.waiters.get(key)?.(f);
      sim.waiters.delete(key);
    });
    sim.ws.send(JSON.stringify({ type: "hello", client_id: clientId, token, device_id: deviceId }));
    await welcome;
    return sim;
  }

  sendAndWait(frame: string, id: string): Promise<Record<string, unknown>> {
    const p = new Promise<Record<string, unknown>>((r) => this.waiters.set(id, r));
    this.ws.send(frame);
    return p;
  }
}

/** Which envelopes cross nodes when there are two: every one, or half the pairs' (a balancer). */
type Crossing = "all" | "half";

async function oneRun(
  db: string,
  nodes: number,
  pairs: number,
  perPair: number,
  crossing: Crossing = "all",
): Promise<BenchRow> {
  const pg = db.startsWith("postgres://");
  // SQLite: this process adds clients and edits links as `taskferry relay add-client` would.
  const store = pg ? await openPgRelayStore(db) : openSqliteRelayStore(db);
  const port = Number(Deno.env.get("TF_BENCH_INSPECT") ?? 0);
  const inspected = pg && port > 0 && crossing === "all" &&
    nodes === Number(Deno.env.get("TF_BENCH_INSPECT_NODES") ?? 1);
  const started = await Promise.all(
    Array.from({ length: nodes }, (_, i) => startNode(db, inspected ? `${port + i}` : undefined)),
  );
  const urls = started.map((n) => n.url);
  const sims: Sim[] = [];
  try {
    const agents: Agent[] = [];
    for (let i = 0; i < pairs * 2; i++) {
      const clientId = `c${i}`;
      const token = generateToken(clientId);
      await store.addClient(clientId, await hashToken(token), Date.now());
      const keys = await generateAgentKeys();
      const handle = `@${clientId}/a`;
      const pub = {
        signing_public_key: encodeBase64Url(keys.signing.publicKey),
        encryption_public_key: encodeBase64Url(keys.encryption.publicKey),
      };
      const proof = encodeBase64Url(
        await sign(keys.signing.privateKey, registrationInput(handle, pub, clientId)),
      );
      const res = await fetch(`${urls[0]}/v1/agents`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ handle, ...pub, proof, public: true }),
      });
      await res.body?.cancel();
      agents.push({ clientId, token, handle, keys, deviceId: newId("dev") });
    }
    // Sender i on node i % n, its recipient on the other node (every envelope crosses nodes),
    // or, with crossing "half", on the sender's node for the first half of the pairs: what a
    // balancer that places clients at random gives on average.
    const nodeOf = (i: number) => {
      const pair = i % pairs;
      const other = i >= pairs && (crossing === "all" || pair >= pairs / 2) ? 1 : 0;
      return (pair + other) % nodes;
    };
    for (let i = 0; i < agents.length; i++) {
      const a = agents[i]!;
      sims.push(
        await Sim.connect(
          urls[nodeOf(i)]!,
          a.clientId,
          a.token,
          a.deviceId,
        ),
      );
    }
    for (let i = 0; i < pairs; i++) {
      const s = agents[i]!, r = agents[i + pairs]!;
      const req = await sealFrame(s, r, "connection_request", {});
      await sims[i]!.sendAndWait(req.frame, req.id);
      const acc = await sealFrame(r, s, "connection_accept", { request_id: req.id }, req.id);
      await sims[i + pairs]!.sendAndWait(acc.frame, acc.id);
      await store.setLinkPermissions(s.handle, r.handle, {
        can_message: true,
        can_send_task: true,
        can_send_artifact: true,
        max_rate_per_minute: 100_000,
        max_open_tasks: 20,
        require_human_gate: false,
      });
    }
    const frames: { id: string; frame: string }[][] = [];
    for (let i = 0; i < pairs; i++) {
      const list = [];
      for (let k = 0; k < perPair; k++) {
        const { id, frame } = await sealFrame(agents[i]!, agents[i + pairs]!, "message", {
          text: "x".repeat(900),
        });
        list.push({ id, frame });
      }
      frames.push(list);
    }
    const total = pairs * perPair;
    let delivered = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => resolveDone = r);
    for (let i = pairs; i < pairs * 2; i++) {
      sims[i]!.onDeliver = () => {
        if (++delivered === total) resolveDone();
      };
    }
    const pgSql = "sql" in store ? store.sql : null;
    if (pgSql) await pgSql`SELECT pg_stat_statements_reset()`;
    const pgCpu0 = pgSql ? await backendCpuMs(pgSql) : new Map<number, number>();
    const cpu0 = started.map((n) => processCpuMs(n.pid));
    const t0 = performance.now();
    await Promise.all(frames.map(async (list, i) => {
      const sim = sims[i]!;
      let next = 0;
      await Promise.all(Array.from({ length: WINDOW }, async () => {
        while (next < list.length) {
          const item = list[next++]!;
          const answer = await sim.sendAndWait(item.frame, item.id);
          if (answer.type !== "accepted") throw new Error(`refused: ${JSON.stringify(answer)}`);
        }
      }));
    }));
    await Promise.race([
      done,
      new Promise((_, j) => setTimeout(() => j(new Error("timeout")), 120_000)),
    ]);
    const seconds = (performance.now() - t0) / 1000;
    const nodeCpu = started.reduce((sum, n, i) => sum + processCpuMs(n.pid) - cpu0[i]!, 0);
    let pgCpu = 0;
    // Backends that connected during the run count from zero.
    if (pgSql) {
      for (const [pid, ms] of await backendCpuMs(pgSql)) pgCpu += ms - (pgCpu0.get(pid) ?? 0);
    }
    const stats = `; relay node CPU ${(1000 * nodeCpu / total).toFixed(0)} µs per envelope` +
      (pgSql
        ? `; PostgreSQL backends' CPU ${(1000 * pgCpu / total).toFixed(0)} µs per envelope` +
          await statementsPerEnvelope(pgSql, total)
        : "");
    return {
      suite: SUITE,
      name: `${pg ? "PostgreSQL" : "SQLite"}, ${nodes} relay node${
        nodes === 1 ? "" : "s"
      }, ${pairs} senders → ${pairs} recipients${
        nodes === 1
          ? ""
          : crossing === "all"
          ? " (every envelope crosses nodes)"
          : " (half the envelopes cross nodes)"
      }`,
      runs: total,
      seconds,
      rate: total / seconds,
      note: "accepted and delivered (acked) end to end; nodes, PostgreSQL and load share 2 cores" +
        stats,
    };
  } finally {
    for (const s of sims) s.ws.close();
    for (const n of started) await n.stop();
    await store.close();
  }
}

/** CPU time (ms) of each backend of this database, by pid (from /proc, like the nodes'). */
async function backendCpuMs(sql: Sql): Promise<Map<number, number>> {
  const rows = await sql`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`;
  return new Map(rows.map((r) => [Number(r.pid), processCpuMs(Number(r.pid))]));
}

/**
 * Statements the nodes ran per envelope during the timed part (pg_stat_statements: top-level
 * statements, BEGIN and COMMIT included); with TF_BENCH_PG_STATS=1 the busiest go to stderr.
 */
async function statementsPerEnvelope(sql: Sql, total: number): Promise<string> {
  const rows =
    await sql`SELECT calls::int AS calls, total_exec_time::float8 AS ms, left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 90) AS q
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC`;
  const calls = rows.reduce((n, r) => n + Number(r.calls), 0);
  const [exec] =
    await sql`SELECT coalesce(sum(total_exec_time), 0)::float8 AS ms FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`;
  if (Deno.env.get("TF_BENCH_PG_STATS")) {
    for (const r of rows.slice(0, 12)) {
      console.error(
        `    ${(Number(r.calls) / total).toFixed(2)}/envelope ${
          (1000 * Number(r.ms) / total).toFixed(0)
        } µs/envelope  ${r.q}`,
      );
    }
  }
  return `; ${(calls / total).toFixed(2)} statements per envelope, ${
    (1000 * Number(exec!.ms) / total).toFixed(0)
  } µs PostgreSQL execution per envelope`;
}

/** Runs the suite (skipped with a row saying so when PostgreSQL is not installed). */
export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  if (!postgresBin()) {
    return [{
      suite: SUITE,
      name: "skipped: PostgreSQL not installed",
      runs: 0,
      seconds: 0,
      rate: NaN,
    }];
  }
  const pg = await startPostgres({ settings: ["shared_preload_libraries=pg_stat_statements"] });
  try {
    const pairs = opts.quick ? 4 : 10;
    // 15,000 envelopes a case (3 s here): 4,000 (under a second) measured mostly the warm-up,
    // and hid that a PostgreSQL node slows as its hot rows' dead versions pile up.
    const perPair = opts.quick ? 100 : 1500;
    const rows: BenchRow[] = [];
    const dir = await Deno.makeTempDir({ prefix: "tf-bench-cluster-" });
    console.error("  SQLite, 1 node…");
    const sqlite = await oneRun(`${dir}/relay.db`, 1, pairs, perPair).finally(() =>
      Deno.remove(dir, { recursive: true }).catch(() => {})
    );
    const runs: [number, Crossing][] = [[1, "all"], [2, "all"], [2, "half"]];
    for (const [nodes, crossing] of runs) {
      const db = await pg.createDatabase(`cluster_${nodes}_${crossing}_${Date.now()}`);
      const setup = await openPgRelayStore(db);
      await setup.sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`.finally(() =>
        setup.close()
      );
      console.error(`  ${nodes} node(s)${nodes > 1 ? `, ${crossing} crossing` : ""}…`);
      rows.push(await oneRun(db, nodes, pairs, perPair, crossing));
    }
    for (const row of rows.slice(1)) {
      row.note += `; ${(row.rate / rows[0]!.rate).toFixed(2)}× the one-node rate`;
    }
    rows[0]!.note += `; ${(rows[0]!.rate / sqlite.rate).toFixed(2)}× the SQLite node's rate`;
    return [sqlite, ...rows];
  } finally {
    await pg.stop();
  }
}
