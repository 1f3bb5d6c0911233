/**
 * Relay suite: what one relay process carries end to end, and the ceilings that bound it.
 *
 * - Throughput: an in-process relay (port 0, temp SQLite) and N simulated daemons sending
 *   pre-sealed envelopes (sealing is the sender daemon's cost, done before the clock starts)
 *   with a bounded window to N recipient daemons that ack every deliver. An envelope counts when
 *   it was accepted, delivered, acked, and its `delivered` receipt reached the sender.
 *   Latency is send → deliver, taken on the recipient side.
 * - Paced: 1,000 envelopes/s for a few seconds; latency percentiles at a rate below saturation.
 * - Ceilings on this machine: WebSocket echo (ping-pong and pipelined), Ed25519 verify, SQLite
 *   inserts (per commit and batched), and the relay's per-envelope CPU steps.
 * - Memory per idle authenticated connection, with the client ends in a child process.
 *
 * The simulated daemons run in a Worker (bench/relay_load.ts): their own thread, so they do not
 * share the relay's JavaScript thread — but on a 2-core machine they still compete for CPU.
 * Harness change (issue 21, 2026-11-30; figures before it are not directly comparable): the
 * Worker reads deliver/receipt/accepted frames by position instead of JSON.parse (the NATS
 * harness does not parse payloads either), a run's frames are handed to it before the CPU
 * window opens (the copy used to count as relay-thread CPU), and rows report the whole
 * process's CPU per envelope next to the relay thread's. What the relay does is unchanged.
 * @module
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  type AgentKeys,
  DEFAULT_PERMISSIONS,
  encodeBase64Url,
  type Envelope,
  generateAgentKeys,
  type MessageType,
  newId,
  parseEnvelope,
  registrationInput,
  sealEnvelope,
  sign,
  signingInput,
  verify,
  verifyEnvelope,
} from "../lib/protocol/mod.ts";
import {
  generateToken,
  hashToken,
  openSqliteRelayStore,
  type RelayStore,
  type RunningRelay,
  startRelay,
} from "../lib/relay/mod.ts";
import { decodeBase64Url } from "../lib/protocol/mod.ts";
import { setLogLevel } from "../lib/log.ts";
import type { BenchOptions, BenchRow } from "./main.ts";
import { mainThreadCpuMs, processCpuMs } from "./proc_cpu.ts";
import type { ClientKind, ClientSpec, Command, EchoResult, Job, LoadResult } from "./relay_load.ts";

const SUITE = "relay";
/** Plaintext of each benchmark message: `{"text":"…"}` of this many bytes. */
const PLAINTEXT_BYTES = 1_000;
/**
 * Unanswered envelopes (sent, not yet accepted) a sender may have out: 32, but at most ~320
 * across all senders. The runs are closed loops, so latency ≈ envelopes in flight ÷ rate
 * (Little's law): a bigger total window only lengthens the queue inside the relay.
 */
const WINDOW = 32;
const TOTAL_WINDOW = 320;

/** The per-sender window the relay suite uses at `senders` senders. */
export function windowFor(senders: number): number {
  return Math.max(2, Math.min(WINDOW, Math.floor(TOTAL_WINDOW / senders)));
}
const TARGET_RATE = 3_000;
const TARGET_VERIFY_SHARE = 0.5;
// Issue 21: paced 1,000/s with p99 ≤ 10 ms (was 50 ms before the relay's group commit).
const TARGET_P99_MS = 10;
const PACED_RATE = 1_000;
const IDLE_CONNECTIONS = 1_000;

/** A registered agent with its client's credentials and session device. */
interface Agent {
  clientId: string;
  token: string;
  handle: string;
  keys: AgentKeys;
  deviceId: string;
}

/** A relay with a fresh database in a temp dir. */
interface BenchRelay {
  running: RunningRelay;
  store: RelayStore;
  dir: string;
  close(): Promise<void>;
}

/** Profiling hooks (used by ad-hoc profiling scripts, not by the suite itself). */
export const hooks: { wrapStore?: (store: RelayStore) => RelayStore; prefill?: number } = {};

/**
 * Fills a fresh relay database with `count` delivered envelopes (as a busy relay holds within
 * its retention window), in batched transactions, before the relay opens it.
 */
function prefill(path: string, count: number) {
  openSqliteRelayStore(path).close(); // create and migrate
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF");
  const body = JSON.stringify({ ciphertext: "x".repeat(1000) });
  const insEnv = db.prepare(
    `INSERT INTO envelopes (id, sender_client, from_handle, recipients, type, body, accepted_at)
     VALUES (?, 'old', '@old/a', '["@old/b"]', 'message', ?, ?)`,
  );
  const insDel = db.prepare(
    `INSERT INTO deliveries (client_id, kind, envelope_id, state, created_at, done_at)
     VALUES ('old', 'envelope', ?, 'delivered', ?, ?)`,
  );
  const now = Date.now();
  for (let done = 0; done < count;) {
    db.exec("BEGIN");
    for (const end = Math.min(count, done + 50_000); done < end; done++) {
      const id = newId("msg");
      insEnv.run(id, body, now);
      insDel.run(id, now, now);
    }
    db.exec("COMMIT");
  }
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
}

async function startBenchRelay(): Promise<BenchRelay> {
  const dir = await Deno.makeTempDir({ prefix: "tf-bench-relay-" });
  if (hooks.prefill) prefill(join(dir, "relay.db"), hooks.prefill);
  const opened = openSqliteRelayStore(join(dir, "relay.db"));
  const store = hooks.wrapStore ? hooks.wrapStore(opened) : opened;
  // The client-wide limit is an operator setting: raised so that the bench measures the relay,
  // not the limiter. Link limits are raised per connection below, as an owner would.
  const running = await startRelay({
    store,
    port: 0,
    options: { clientRatePerMinute: 10_000_000 },
  });
  return {
    running,
    store,
    dir,
    close: async () => {
      await running.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** A new agent (keys, token, device) for client `clientId`; registered per relay later. */
async function newAgent(clientId: string, name: string): Promise<Agent> {
  return {
    clientId,
    token: generateToken(clientId),
    handle: `@${clientId}/${name}`,
    keys: await generateAgentKeys(),
    deviceId: newId("dev"),
  };
}

/** Adds the agent's client and registers the agent over HTTP (proof of possession included). */
async function register(relay: BenchRelay, agent: Agent) {
  await relay.store.addClient(agent.clientId, await hashToken(agent.token), Date.now());
  const pub = {
    signing_public_key: encodeBase64Url(agent.keys.signing.publicKey),
    encryption_public_key: encodeBase64Url(agent.keys.encryption.publicKey),
  };
  const proof = await sign(
    agent.keys.signing.privateKey,
    registrationInput(agent.handle, pub, agent.clientId),
  );
  const res = await fetch(`${relay.running.url}/v1/agents`, {
    method: "POST",
    headers: { authorization: `Bearer ${agent.token}`, "content-type": "application/json" },
    body: JSON.stringify({
      handle: agent.handle,
      ...pub,
      proof: encodeBase64Url(proof),
      public: true,
    }),
  });
  if (res.status !== 201) {
    throw new Error(`register ${agent.handle}: ${res.status} ${await res.text()}`);
  }
  await res.body?.cancel();
}

/** Seals one envelope from `from` to `to` and wraps it in a `send` frame. */
async function sealFrame(
  from: Agent,
  to: Agent,
  type: MessageType,
  payload: unknown,
  replyTo?: string,
): Promise<{ id: string; frame: string; envelope: Envelope }> {
  const id = newId("msg");
  const envelope = await sealEnvelope(
    {
      v: 1,
      id,
      type,
      from: from.handle,
      to: [to.handle],
      created_at: new Date().toISOString(),
      device_id: from.deviceId,
      ...(replyTo ? { reply_to: replyTo } : {}),
    },
    payload,
    { handle: from.handle, signingPrivateKey: from.keys.signing.privateKey },
    [{ handle: to.handle, encryptionPublicKey: to.keys.encryption.publicKey }],
  );
  return { id, frame: `{"type":"send","envelope":${JSON.stringify(envelope)}}`, envelope };
}

const TEXT = { text: "x".repeat(PLAINTEXT_BYTES - JSON.stringify({ text: "" }).length) };

/** `count` pre-sealed messages per pair, as load jobs. */
async function sealJobs(pairs: Pair[], count: number): Promise<Job[]> {
  const jobs: Job[] = [];
  for (const p of pairs) {
    const job: Job = { sender: p.senderIndex, recipient: p.recipientIndex, ids: [], frames: [] };
    for (let k = 0; k < count; k++) {
      const { id, frame } = await sealFrame(p.sender, p.recipient, "message", TEXT);
      job.ids.push(id);
      job.frames.push(frame);
    }
    jobs.push(job);
  }
  return jobs;
}

/** The load worker, one command at a time. */
export class Load {
  private readonly worker = new Worker(new URL("./relay_load.ts", import.meta.url).href, {
    type: "module",
  });

  call<T>(command: Command): Promise<T> {
    return new Promise((resolve, reject) => {
      this.worker.onmessage = (e: MessageEvent<{ ok: boolean; result?: T; error?: string }>) => {
        if (e.data.ok) resolve(e.data.result as T);
        else reject(new Error(`load worker: ${e.data.error}`));
      };
      this.worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`load worker crashed: ${e.message}`));
      };
      this.worker.postMessage(command);
    });
  }

  terminate() {
    this.worker.terminate();
  }
}

/** A sender → recipient pair with the load worker's connection indices. */
interface Pair {
  sender: Agent;
  recipient: Agent;
  senderIndex: number;
  recipientIndex: number;
}

/**
 * `n` pairs s<i> → r<i> with the connection handshake pre-sealed. Agents live outside any one
 * relay, so the same sealed envelopes run against fresh relays with either WebSocket client.
 */
interface PairSet {
  pairs: Pair[];
  handshakes: Job[];
}

async function makePairs(n: number): Promise<PairSet> {
  const pairs: Pair[] = [];
  for (let i = 0; i < n; i++) {
    pairs.push({
      sender: await newAgent(`s${i}`, "sender"),
      recipient: await newAgent(`r${i}`, "recipient"),
      senderIndex: i,
      recipientIndex: n + i,
    });
  }
  const handshakes: Job[] = [];
  for (const p of pairs) {
    const req = await sealFrame(p.sender, p.recipient, "connection_request", { note: "bench" });
    const acc = await sealFrame(
      p.recipient,
      p.sender,
      "connection_accept",
      { request_id: req.id },
      req.id,
    );
    handshakes.push({
      sender: p.senderIndex,
      recipient: p.recipientIndex,
      ids: [req.id, acc.id],
      frames: [req.frame, acc.frame],
    });
  }
  return { pairs, handshakes };
}

/**
 * A fresh relay with the pairs registered, their sockets open in the load worker (with
 * `client`), connected by a connection_request/accept exchange, and each link's rate limit
 * raised by the recipient's owner.
 */
async function pairedRelay(set: PairSet, load: Load, client: ClientKind): Promise<BenchRelay> {
  const relay = await startBenchRelay();
  try {
    const agents = [...set.pairs.map((p) => p.sender), ...set.pairs.map((p) => p.recipient)];
    for (let i = 0; i < agents.length; i += 20) {
      await Promise.all(agents.slice(i, i + 20).map((a) => register(relay, a)));
    }
    const clients: ClientSpec[] = agents.map((a) => ({
      clientId: a.clientId,
      token: a.token,
      deviceId: a.deviceId,
    }));
    await load.call({ cmd: "connect", url: relay.running.url, clients, client });
    await load.call({ cmd: "handshake", jobs: set.handshakes });
    for (const p of set.pairs) {
      const res = await fetch(`${relay.running.url}/v1/permissions`, {
        method: "PUT",
        headers: {
          authorization: `Bearer ${p.recipient.token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          agent: p.recipient.handle,
          peer: p.sender.handle,
          permissions: { ...DEFAULT_PERMISSIONS, max_rate_per_minute: 100_000 },
        }),
      });
      if (!res.ok) throw new Error(`permissions: ${res.status} ${await res.text()}`);
      await res.body?.cancel();
    }
    return relay;
  } catch (err) {
    await load.call({ cmd: "close" }).catch(() => {});
    await relay.close();
    throw err;
  }
}

const CLIENT_LABEL: Record<ClientKind, string> = {
  nodelay: "TCP_NODELAY client",
  deno: "Deno WebSocket client",
};

/** Percentile (0..100) of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function ms(value: number): string {
  return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(1)} ms`;
}

function latencyNote(result: LoadResult): string {
  const sorted = result.latencies.slice().sort();
  return `send→deliver p50 ${ms(percentile(sorted, 50))}, p95 ${ms(percentile(sorted, 95))}, ` +
    `p99 ${ms(percentile(sorted, 99))}`;
}

function checkResult(what: string, r: LoadResult) {
  const errors = Object.entries(r.errors).map(([k, v]) => `${k}×${v}`).join(", ");
  if (r.timedOut || errors || r.delivered !== r.total || r.receipts !== r.total) {
    throw new Error(
      `${what}: ${r.accepted}/${r.total} accepted, ${r.delivered} delivered, ${r.receipts} ` +
        `receipts${r.timedOut ? ", timed out" : ""}${errors ? `, errors: ${errors}` : ""}`,
    );
  }
}

function met(ok: boolean): string {
  return ok ? "met" : "MISSED";
}

/** Pre-sealed traffic for one level: a warm-up and the measured jobs. */
interface Traffic {
  set: PairSet;
  warm: Job[];
  jobs: Job[];
}

export async function sealTraffic(n: number, perSender: number): Promise<Traffic> {
  const set = await makePairs(n);
  return {
    set,
    warm: await sealJobs(set.pairs, Math.max(5, Math.ceil(200 / n))),
    jobs: await sealJobs(set.pairs, perSender),
  };
}

/** One throughput run of `traffic` on a fresh relay with `client`, `window` in flight per sender. */
export async function throughputRun(
  traffic: Traffic,
  load: Load,
  client: ClientKind,
  window = windowFor(traffic.set.pairs.length),
): Promise<{ row: BenchRow; rate: number }> {
  const n = traffic.set.pairs.length;
  const relay = await pairedRelay(traffic.set, load, client);
  try {
    const timeoutMs = 120_000;
    checkResult(
      "warm-up",
      await load.call<LoadResult>({
        cmd: "throughput",
        jobs: traffic.warm,
        window,
        timeoutMs,
      }),
    );
    // The frames go to the worker before the clock: the copy is the harness's work, not the
    // relay's (before, it was inside the measured CPU window of the relay thread).
    await load.call({ cmd: "stage", jobs: traffic.jobs });
    const cpu0 = mainThreadCpuMs();
    const proc0 = processCpuMs();
    const r = await load.call<LoadResult>({ cmd: "throughput", window, timeoutMs });
    const cpuUs = ((mainThreadCpuMs() - cpu0) * 1000) / r.total;
    const procUs = ((processCpuMs() - proc0) * 1000) / r.total;
    checkResult(`${n} senders`, r);
    const rate = r.total / (r.elapsedMs / 1000);
    const acceptRate = r.total / (r.acceptedMs / 1000);
    const row: BenchRow = {
      suite: SUITE,
      name: `envelopes end to end, ${n} sender${n === 1 ? "" : "s"} → ${n} recipient${
        n === 1 ? "" : "s"
      }, window ${window}, ${CLIENT_LABEL[client]}`,
      runs: r.total,
      seconds: r.elapsedMs / 1000,
      rate,
      note:
        `${latencyNote(r)}; all accepted at ${
          Math.round(acceptRate).toLocaleString("en-US")
        }/s; relay thread ${Number.isNaN(cpuUs) ? "?" : Math.round(cpuUs)} µs CPU/envelope ` +
        `(whole process ${Number.isNaN(procUs) ? "?" : Math.round(procUs)} µs); ` +
        `target ≥${TARGET_RATE.toLocaleString("en-US")}/s ${met(rate >= TARGET_RATE)}`,
    };
    console.error(`  ${row.name}: ${Math.round(rate)}/s; ${latencyNote(r)}`);
    return { row, rate };
  } finally {
    await load.call({ cmd: "close" });
    await relay.close();
  }
}

/** Paced traffic: `rate`/s over 10 pairs for `seconds`. */
export async function sealPaced(rate: number, seconds: number): Promise<Traffic> {
  const n = 10;
  const set = await makePairs(n);
  return {
    set,
    warm: await sealJobs(set.pairs, 20),
    jobs: await sealJobs(set.pairs, Math.ceil((rate * seconds) / n)),
  };
}

/** One paced run on a fresh relay with `client`. */
export async function pacedRun(
  traffic: Traffic,
  rate: number,
  seconds: number,
  load: Load,
  client: ClientKind,
): Promise<BenchRow> {
  const n = traffic.set.pairs.length;
  const relay = await pairedRelay(traffic.set, load, client);
  try {
    checkResult(
      "warm-up",
      await load.call<LoadResult>({
        cmd: "throughput",
        jobs: traffic.warm,
        window: WINDOW,
        timeoutMs: 60_000,
      }),
    );
    await load.call({ cmd: "stage", jobs: traffic.jobs });
    const r = await load.call<LoadResult>({ cmd: "paced", rate, timeoutMs: 120_000 });
    checkResult("paced", r);
    const sorted = r.latencies.slice().sort();
    const p99 = percentile(sorted, 99);
    const row: BenchRow = {
      suite: SUITE,
      name: `paced ${rate.toLocaleString("en-US")} envelopes/s for ${seconds} s, ${n} senders, ${
        CLIENT_LABEL[client]
      }`,
      runs: r.total,
      seconds: r.elapsedMs / 1000,
      rate: r.total / (r.sendSpanMs / 1000),
      note: `${latencyNote(r)}, max ${ms(sorted[sorted.length - 1] ?? NaN)}; ` +
        `target p99 ≤${TARGET_P99_MS} ms ${met(p99 <= TARGET_P99_MS)}`,
    };
    console.error(`  ${row.name}: ${latencyNote(r)}`);
    return row;
  } finally {
    await load.call({ cmd: "close" });
    await relay.close();
  }
}

/** WebSocket echo rates with the client in the load worker, frames the size of a send frame. */
async function echoCeiling(
  load: Load,
  bytes: number,
  seconds: number,
  client: ClientKind,
): Promise<EchoResult> {
  const ac = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: () => {},
  }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => socket.send(e.data);
    return response;
  });
  try {
    return await load.call<EchoResult>({
      cmd: "echo",
      url: `ws://127.0.0.1:${server.addr.port}/`,
      bytes,
      seconds,
      window: WINDOW,
      client,
    });
  } finally {
    ac.abort();
    await server.finished;
  }
}

/**
 * Relay RSS per idle authenticated connection: bench/idle_relay.ts runs a relay alone in a fresh
 * process (nothing left over from the runs above) and bench/idle_clients.ts holds the client
 * ends in another process.
 */
export async function idleMemory(count: number): Promise<BenchRow> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./idle_relay.ts", import.meta.url).pathname, String(count)],
    stdout: "piped",
    stderr: "inherit",
    env: { TASKFERRY_LOG_LEVEL: "error" },
  }).output();
  const text = new TextDecoder().decode(result.stdout).trim();
  if (!result.success) throw new Error(`idle relay failed: ${text}`);
  const r = JSON.parse(text.split("\n").at(-1)!) as {
    connected: number;
    rssBefore: number;
    rssAfter: number;
    heapBefore: number;
    heapAfter: number;
    seconds: number;
  };
  const perConnKb = (r.rssAfter - r.rssBefore) / r.connected / 1024;
  const heapKb = (r.heapAfter - r.heapBefore) / r.connected / 1024;
  console.error(`  idle connections: ${r.connected}, RSS +${perConnKb.toFixed(1)} KB each`);
  return {
    suite: SUITE,
    name: `memory per idle authenticated connection (${r.connected} sessions)`,
    runs: r.connected,
    seconds: r.seconds,
    rate: NaN,
    note:
      `relay process RSS +${perConnKb.toFixed(1)} KB per connection (JS heap +${
        heapKb.toFixed(1)
      } KB); relay alone in a fresh process, client ends in another; ` +
      `${r.connected} hellos in ${r.seconds.toFixed(2)} s`,
  };
}

/** SQLite insert rates on a table shaped like the relay's envelopes table. */
async function sqliteCeilings(opts: BenchOptions, bodyBytes: number): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "tf-bench-sqlite-" });
  const db = new DatabaseSync(join(dir, "bench.db"));
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT NOT NULL, at INTEGER NOT NULL)");
    const insert = db.prepare("INSERT INTO t (id, body, at) VALUES (?, ?, ?)");
    const body = "x".repeat(bodyBytes);
    let n = 0;
    const rows: BenchRow[] = [];
    const one = await opts.measure(
      `SQLite insert, one commit per row (WAL, synchronous=NORMAL, ${bodyBytes} B rows)`,
      () => insert.run(`id${n++}`, body, Date.now()),
    );
    rows.push(one);
    const batch = 100;
    const many = await opts.measure(
      `SQLite insert, ${batch} rows per commit (rows/s = ops/s × ${batch})`,
      () => {
        db.exec("BEGIN");
        for (let i = 0; i < batch; i++) insert.run(`id${n++}`, body, Date.now());
        db.exec("COMMIT");
      },
    );
    rows.push({ ...many, note: `${Math.round(many.rate * batch).toLocaleString("en-US")} rows/s` });
    return rows;
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Ed25519 verify through lib/protocol (cached key): one at a time and 64 in flight. */
async function verifyCeilings(opts: BenchOptions, envelope: Envelope, signingKey: Uint8Array) {
  const message = signingInput(envelope);
  const sig = decodeBase64Url(envelope.sig);
  const one = await opts.measure(
    `Ed25519 verify (crypto.ts, cached key, ${message.length} B)`,
    async () => {
      if (!await verify(signingKey, message, sig)) throw new Error("verify");
    },
  );
  const inFlight = 64;
  const many = await opts.measure(
    `Ed25519 verify, ${inFlight} in flight (verifies/s = ops/s × ${inFlight})`,
    async () => {
      const all = await Promise.all(
        Array.from({ length: inFlight }, () => verify(signingKey, message, sig)),
      );
      if (all.includes(false)) throw new Error("verify");
    },
  );
  const manyRate = many.rate * inFlight;
  return {
    rows: [one, { ...many, note: `${Math.round(manyRate).toLocaleString("en-US")} verifies/s` }],
    ceiling: Math.max(one.rate, manyRate),
  };
}

/** The relay's per-envelope CPU steps, one at a time (what a profile of accept shows). */
async function acceptSteps(opts: BenchOptions, frame: string, signingKey: Uint8Array) {
  const envelope = parseEnvelope((JSON.parse(frame) as { envelope: unknown }).envelope);
  return [
    await opts.measure("accept step: JSON.parse of a send frame", () => JSON.parse(frame)),
    await opts.measure("accept step: parseEnvelope (zod schema)", () => {
      parseEnvelope((JSON.parse(frame) as { envelope: unknown }).envelope);
    }),
    await opts.measure(
      "accept step: signingInput (JCS canonical form)",
      () => signingInput(envelope),
    ),
    await opts.measure(
      "accept step: verifyEnvelope (JCS + verify)",
      () => verifyEnvelope(envelope, signingKey),
    ),
    await opts.measure(
      "accept step: JSON.stringify(envelope) for storage",
      () => JSON.stringify(envelope),
    ),
  ];
}

/** Runs the relay suite. */
export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  if (!Deno.env.get("TASKFERRY_LOG_LEVEL")) setLogLevel("warn");
  const rows: BenchRow[] = [];
  const load = new Load();
  const clients: ClientKind[] = ["nodelay", "deno"];
  try {
    const levels = opts.quick ? [{ n: 1, per: 500 }, { n: 10, per: 100 }] : [
      { n: 1, per: 3000 },
      { n: 10, per: 600 },
      { n: 100, per: 60 },
    ];
    let best = { rate: 0, name: "" };
    for (const level of levels) {
      const traffic = await sealTraffic(level.n, level.per);
      for (const client of clients) {
        const { row, rate } = await throughputRun(traffic, load, client);
        rows.push(row);
        if (client === "nodelay" && rate > best.rate) {
          best = { rate, name: `${level.n} sender${level.n === 1 ? "" : "s"}` };
        }
      }
    }
    // Scaling with what is already stored (full run only: filling 1M rows takes a while).
    if (!opts.quick) {
      const traffic = await sealTraffic(10, 600);
      const base: number[] = [];
      for (const stored of [0, 100_000, 1_000_000]) {
        console.error(`  ${stored.toLocaleString("en-US")} envelopes already stored…`);
        hooks.prefill = stored;
        try {
          const { row, rate } = await throughputRun(traffic, load, "nodelay");
          base.push(rate);
          row.name = `envelopes end to end, 10 senders, ${
            stored.toLocaleString("en-US")
          } delivered envelopes already stored`;
          row.note = `${(rate / base[0]! * 100).toFixed(0)}% of the empty-database rate` +
            (stored === 1_000_000 ? `; target within 10% ${met(rate >= 0.9 * base[0]!)}` : "");
          rows.push(row);
        } finally {
          delete hooks.prefill;
        }
      }
    }

    const pacedSeconds = opts.quick ? 2 : 3;
    const paced = await sealPaced(PACED_RATE, pacedSeconds);
    for (const client of clients) {
      rows.push(await pacedRun(paced, PACED_RATE, pacedSeconds, load, client));
    }

    // Ceilings, with a sample envelope of the benchmark's shape.
    const a = await newAgent("a", "x");
    const b = await newAgent("b", "y");
    const sample = await sealFrame(a, b, "message", TEXT);
    const echoSeconds = opts.quick ? 0.3 : 1;
    let pipelined = 0;
    for (const client of clients) {
      const echo = await echoCeiling(load, sample.frame.length, echoSeconds, client);
      if (client === "nodelay") pipelined = echo.pipelinedPerSecond;
      rows.push({
        suite: SUITE,
        name: `WebSocket echo, sequential ping-pong, ${
          CLIENT_LABEL[client]
        } (${sample.frame.length} B)`,
        runs: Math.round(echo.sequentialPerSecond * echoSeconds),
        seconds: echoSeconds,
        rate: echo.sequentialPerSecond,
      });
      rows.push({
        suite: SUITE,
        name: `WebSocket echo, pipelined (${WINDOW} in flight), ${CLIENT_LABEL[client]}`,
        runs: Math.round(echo.pipelinedPerSecond * echoSeconds),
        seconds: echoSeconds,
        rate: echo.pipelinedPerSecond,
      });
    }
    const verify = await verifyCeilings(opts, sample.envelope, a.keys.signing.publicKey);
    rows.push(...verify.rows);
    rows.push(...await sqliteCeilings(opts, JSON.stringify(sample.envelope).length));
    rows.push(...await acceptSteps(opts, sample.frame, a.keys.signing.publicKey));

    const verifyShare = best.rate / verify.ceiling;
    rows.push({
      suite: SUITE,
      name: `ratio: best relay envelopes/s (${best.name}) ÷ Ed25519 verify ceiling`,
      runs: 0,
      seconds: 0,
      rate: NaN,
      note: `${Math.round(best.rate).toLocaleString("en-US")} ÷ ${
        Math.round(verify.ceiling).toLocaleString("en-US")
      } = ${(verifyShare * 100).toFixed(0)}%; target ≥${TARGET_VERIFY_SHARE * 100}% ${
        met(verifyShare >= TARGET_VERIFY_SHARE)
      }`,
    });
    rows.push({
      suite: SUITE,
      name: `ratio: best relay envelopes/s (${best.name}) ÷ pipelined WebSocket echo`,
      runs: 0,
      seconds: 0,
      rate: NaN,
      note: `${Math.round(best.rate).toLocaleString("en-US")} ÷ ${
        Math.round(pipelined).toLocaleString("en-US")
      } = ${((best.rate / pipelined) * 100).toFixed(0)}% (TCP_NODELAY client for both)`,
    });

    for (
      const count of opts.quick ? [IDLE_CONNECTIONS] : [IDLE_CONNECTIONS, 5 * IDLE_CONNECTIONS]
    ) {
      rows.push(await idleMemory(count));
    }
  } finally {
    load.terminate();
  }
  return rows;
}
