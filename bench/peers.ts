/**
 * Peers suite: the relay next to NATS JetStream in the same run, with the relay suite's payload
 * (the byte size of its sealed `send` frames), sender counts and in-flight window, interleaved
 * A B A B so the machine's drift cancels; rows give the ratios (median of the rounds).
 *
 * JetStream does less than the relay per message (no signature check, no routing rules, no
 * receipts back to the sender) and, like the relay's SQLite in WAL mode with
 * `synchronous=NORMAL`, does not fsync each message: the ratio is a yardstick, not a contest of
 * equals. Skips with a clear row when `nats-server` is not installed (`.ci/packages.sh` installs
 * Debian's).
 * @module
 */
import { setLogLevel } from "../lib/log.ts";
import type { BenchOptions, BenchRow } from "./main.ts";
import { findNatsServer, jetStreamRun, startNats } from "./nats.ts";
import { sealTraffic, throughputRun } from "./relay.ts";
import { Load, windowFor } from "./relay_world.ts";

const SUITE = "peers";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function fmt(rate: number): string {
  return Math.round(rate).toLocaleString("en-US");
}

/** Runs the peers suite. */
export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  if (!Deno.env.get("TASKFERRY_LOG_LEVEL")) setLogLevel("warn");
  const binary = findNatsServer();
  if (!binary) {
    console.error("  nats-server not found: skipping the peers suite");
    return [{
      suite: SUITE,
      name: "skipped: nats-server is not installed (apt-get install nats-server)",
      runs: 0,
      seconds: 0,
      rate: NaN,
    }];
  }
  const senders = 10;
  const perSender = opts.quick ? 100 : 600;
  const rounds = opts.quick ? 1 : 3;
  const window = windowFor(senders);
  const traffic = await sealTraffic(senders, perSender);
  const payloadBytes = traffic.jobs[0]!.frames[0]!.length;
  const payload = new Uint8Array(payloadBytes).fill(0x78);

  const relayRates: number[] = [];
  /** The relay with JetStream's wide window: 64 unanswered envelopes per sender. */
  const relayWide: number[] = [];
  /** The relay thread's CPU per envelope of each round (steadier than rates on a busy host). */
  const relayCpu: number[] = [];
  /** The same for 64 in flight, and the whole process's CPU per envelope (64 in flight). */
  const wideCpu: number[] = [];
  const wideProc: number[] = [];
  const jsPublish: number[] = [];
  const jsEndToEnd: number[] = [];
  const jsWide: number[] = [];
  const load = new Load();
  const nats = await startNats(binary);
  try {
    // Warm-up of both (JIT, page cache), not counted.
    await jetStreamRun(nats.port, senders, 20, window, payload);
    for (let round = 0; round < rounds; round++) {
      const relay = await throughputRun(traffic, load, "nodelay");
      relayRates.push(relay.rate);
      const cpu = /relay thread (\d+) µs/.exec(relay.row.note ?? "")?.[1];
      if (cpu) relayCpu.push(Number(cpu));
      const wide = await throughputRun(traffic, load, "nodelay", 64);
      relayWide.push(wide.rate);
      const note = wide.row.note ?? "";
      const thread = /relay thread (\d+) µs/.exec(note)?.[1];
      const proc = /whole process (\d+) µs/.exec(note)?.[1];
      if (thread) wideCpu.push(Number(thread));
      if (proc) wideProc.push(Number(proc));
      const js = await jetStreamRun(nats.port, senders, perSender, window, payload);
      jsPublish.push(js.total / (js.publishMs / 1000));
      jsEndToEnd.push(js.total / (js.endToEndMs / 1000));
      const jsWideRun = await jetStreamRun(nats.port, senders, perSender, 64, payload);
      jsWide.push(jsWideRun.total / (jsWideRun.publishMs / 1000));
      console.error(
        `  round ${round + 1}: relay ${fmt(relay.rate)}/s, 64 in flight ${
          fmt(relayWide.at(-1)!)
        }/s; JetStream publish ${fmt(jsPublish.at(-1)!)}/s, end to end ${
          fmt(jsEndToEnd.at(-1)!)
        }/s, 64 in flight ${fmt(jsWide.at(-1)!)}/s`,
      );
    }
  } finally {
    await nats.close();
    load.terminate();
  }
  const relay = median(relayRates);
  const row = (name: string, rate: number, note: string): BenchRow => ({
    suite: SUITE,
    name,
    runs: senders * perSender * rounds,
    seconds: (senders * perSender * rounds) / rate,
    rate,
    note,
  });
  const spread = (v: number[]) => `${fmt(Math.min(...v))}–${fmt(Math.max(...v))}`;
  return [
    row(
      `relay, ${senders} senders, window ${window}, ${payloadBytes} B frames`,
      relay,
      `median of ${rounds} (${spread(relayRates)}); accepted, delivered, acked, receipt back` +
        (relayCpu.length ? `; relay thread ${median(relayCpu)} µs CPU/envelope (median)` : ""),
    ),
    row(
      `JetStream publish (PubAck), ${senders} senders, window ${window}`,
      median(jsPublish),
      `median (${spread(jsPublish)}); relay ÷ this = ${(relay / median(jsPublish)).toFixed(2)}`,
    ),
    row(
      `JetStream publish → push consumer → ack, ${senders} senders, window ${window}`,
      median(jsEndToEnd),
      `median (${spread(jsEndToEnd)}); relay ÷ this = ${(relay / median(jsEndToEnd)).toFixed(2)}`,
    ),
    row(
      `relay, ${senders} senders, 64 in flight each, ${payloadBytes} B frames`,
      median(relayWide),
      `median of ${rounds} (${spread(relayWide)})` +
        (wideCpu.length ? `; relay thread ${median(wideCpu)} µs CPU/envelope (median)` : "") +
        (wideProc.length ? `, whole process ${median(wideProc)} µs` : ""),
    ),
    row(
      `JetStream publish (PubAck), ${senders} senders, 64 in flight each`,
      median(jsWide),
      `median (${spread(jsWide)}); relay (window ${window}) ÷ this = ${
        (relay / median(jsWide)).toFixed(2)
      }, relay (64 in flight) ÷ this = ${
        (median(relayWide) / median(jsWide)).toFixed(2)
      }; issue 21 target ≥ 0.30`,
    ),
  ];
}
