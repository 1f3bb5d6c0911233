/**
 * The relay suite's ceilings (bench/relay.ts): what this machine allows at most, to read the
 * relay's figures against — WebSocket echo, SQLite inserts, Ed25519 verify, the relay's accept
 * steps one by one — and the memory an idle authenticated connection costs.
 * @module
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  decodeBase64Url,
  type Envelope,
  parseEnvelope,
  signingInput,
  verify,
  verifyEnvelope,
} from "../lib/protocol/mod.ts";
import type { BenchOptions, BenchRow } from "./main.ts";
import type { ClientKind, EchoResult } from "./relay_load.ts";
import { type Load, RELAY_SUITE as SUITE, WINDOW } from "./relay_world.ts";

/** WebSocket echo rates with the client in the load worker, frames the size of a send frame. */
export async function echoCeiling(
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
export async function sqliteCeilings(opts: BenchOptions, bodyBytes: number): Promise<BenchRow[]> {
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
export async function verifyCeilings(
  opts: BenchOptions,
  envelope: Envelope,
  signingKey: Uint8Array,
) {
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
export async function acceptSteps(opts: BenchOptions, frame: string, signingKey: Uint8Array) {
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
