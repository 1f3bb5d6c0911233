/**
 * `deno task bench [--quick] [--suite NAME]…`: measures TaskFerry's rates in one run and prints
 * them as a markdown table (stdout; progress goes to stderr).
 *
 * A suite is a module exporting `run(opts): Promise<BenchRow[]>`, registered in {@link SUITES}.
 * Suites are imported only when selected, so a heavy suite (a relay with sockets, daemons)
 * costs nothing when another one is asked for. They time every case with `opts.measure` so all
 * figures mean the same thing, and import only types from this module: a value import would be
 * a cycle with this module's top-level await, which deadlocks.
 * @module
 */
import { parseArgs } from "node:util";

/** How long and how often each case runs. */
export interface Timing {
  /** Minimum measured wall time per case, in seconds. */
  seconds: number;
  /** Minimum measured runs per case, whatever the time. */
  minRuns: number;
}

/** What a suite's `run` gets. */
export interface BenchOptions extends Timing {
  /** `--quick` was given: suites may also shrink their own set-up (fewer peers, smaller data). */
  quick: boolean;
  /** Times `fn` (see {@link measure}) as case `name` of this suite and reports progress. */
  measure(name: string, fn: () => unknown, extra?: { bytes?: number }): Promise<BenchRow>;
}

/** One measured case. */
export interface BenchRow {
  /** The suite that measured it, e.g. `protocol`. */
  suite: string;
  /** What was measured, with its parameters, e.g. `sealEnvelope (10 recipients, 1 MB)`. */
  name: string;
  /** Measured runs (warm-up excluded). */
  runs: number;
  /** Wall time of the measured runs. */
  seconds: number;
  /** Runs per second. */
  rate: number;
  /** Payload bytes handled per run, when throughput is meaningful. */
  bytes?: number;
  /**
   * Anything the rate alone does not say: latency percentiles, a ratio, a target met or
   * missed. Rows that are not rates (a memory figure, a size) set `rate` to NaN and say it here.
   */
  note?: string;
}

/** A registered suite: its name, a line for `--help`, and how to load it. */
interface SuiteEntry {
  name: string;
  summary: string;
  load: () => Promise<{ run(opts: BenchOptions): Promise<BenchRow[]> }>;
}

/** Every suite, in the order they run. Add relay/daemon suites here as they appear. */
const SUITES: readonly SuiteEntry[] = [
  {
    name: "protocol",
    summary: "Ed25519 sign/verify, sealEnvelope/openEnvelope (1 and 10 recipients, 1 kB/1 MB)",
    load: () => import("./protocol.ts"),
  },
  {
    name: "relay",
    summary: "relay envelopes/s and latency (1/10/100 senders), ceilings, memory per connection",
    load: () => import("./relay.ts"),
  },
  {
    name: "daemon",
    summary: "daemon API → peer inbox latency and rate, cold starts, bundle size",
    load: () => import("./daemon.ts"),
  },
  {
    name: "worker",
    summary:
      "task → worker child, child's line → requester SSE, runs/s, A2A vs /v1/tasks vs /v1/responses",
    load: () => import("./worker.ts"),
  },
  {
    name: "offers",
    summary: "offer → assigned with three candidate daemons claiming at once (p50/p99)",
    load: () => import("./offers.ts"),
  },
  {
    name: "peers",
    summary: "the relay next to NATS JetStream (nats-server) in one run, as ratios",
    load: () => import("./peers.ts"),
  },
  {
    name: "files",
    summary: "file transfer end to end (1 MB, 100 MB) next to raw AES-GCM and a file copy",
    load: () => import("./files.ts"),
  },
  {
    name: "cluster",
    summary: "relay envelopes/s on PostgreSQL with one and two relay nodes (processes)",
    load: () => import("./cluster.ts"),
  },
];

/**
 * Runs `fn` repeatedly, awaiting each call, until both `opts.seconds` have passed and
 * `opts.minRuns` calls were made, after a short warm-up (JIT, key caches) that is not counted.
 */
export async function measure(
  suite: string,
  name: string,
  fn: () => unknown,
  opts: Timing,
  extra: { bytes?: number } = {},
): Promise<BenchRow> {
  const warmUntil = performance.now() + opts.seconds * 100; // 10% of the measured time
  do await fn(); while (performance.now() < warmUntil);

  const limit = opts.seconds * 1000;
  let runs = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < limit || runs < opts.minRuns) {
    await fn();
    runs++;
    elapsed = performance.now() - start;
  }
  const row: BenchRow = {
    suite,
    name,
    runs,
    seconds: elapsed / 1000,
    rate: runs / (elapsed / 1000),
  };
  if (extra.bytes !== undefined) row.bytes = extra.bytes;
  return row;
}

/** Formats a number with thin grouping for the table: 12345.6 → "12,346". */
function formatRate(rate: number): string {
  if (!Number.isFinite(rate)) return "";
  if (rate >= 100) return Math.round(rate).toLocaleString("en-US");
  return rate.toFixed(rate >= 10 ? 1 : 2);
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "";
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${(ms * 1000).toFixed(1)} µs`;
}

/** The results as a markdown table. */
export function markdownTable(rows: readonly BenchRow[]): string {
  const notes = rows.some((r) => r.note !== undefined);
  const header = ["suite", "case", "ops/s", "per op", "MB/s", "runs", ...(notes ? ["notes"] : [])];
  const body = rows.map((r) => [
    r.suite,
    r.name,
    formatRate(r.rate),
    formatDuration(1000 / r.rate),
    r.bytes === undefined || !Number.isFinite(r.rate) ? "" : ((r.bytes * r.rate) / 1e6).toFixed(1),
    String(r.runs),
    ...(notes ? [r.note ?? ""] : []),
  ]);
  const right = [false, false, true, true, true, true, false];
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    `| ${
      cells.map((c, i) => right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)).join(" | ")
    } |`;
  const rule = `|${
    widths.map((w, i) => right[i] ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2)).join("|")
  }|`;
  return [line(header), rule, ...body.map(line)].join("\n");
}

const HELP = `Usage: deno task bench [--quick] [--suite NAME]...

Measures TaskFerry's rates and prints a markdown table.

Options:
  --quick         short runs (~0.1 s per case) for a smoke check; figures are noisier
  --suite NAME    run only this suite (repeatable); default: all
  -h, --help      show this help

Suites:
${SUITES.map((s) => `  ${s.name.padEnd(14)}${s.summary}`).join("\n")}
`;

/** Runs the selected suites and prints the table; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  // `deno task bench -- --quick` passes the `--` through: drop it.
  if (args[0] === "--") args = args.slice(1);
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        quick: { type: "boolean", default: false },
        suite: { type: "string", multiple: true },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : err}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const wanted = values.suite ?? SUITES.map((s) => s.name);
  const unknown = wanted.filter((name) => !SUITES.some((s) => s.name === name));
  if (unknown.length) {
    console.error(`bench: unknown suite ${unknown.join(", ")}\n\n${HELP}`);
    return 2;
  }

  const timing: Timing = { seconds: values.quick ? 0.1 : 0.5, minRuns: values.quick ? 2 : 5 };
  const rows: BenchRow[] = [];
  const started = performance.now();
  for (const suite of SUITES.filter((s) => wanted.includes(s.name))) {
    console.error(`bench: ${suite.name}…`);
    const opts: BenchOptions = {
      ...timing,
      quick: values.quick,
      async measure(name, fn, extra) {
        const row = await measure(suite.name, name, fn, timing, extra);
        console.error(`  ${name}: ${formatRate(row.rate)}/s`);
        return row;
      },
    };
    rows.push(...await (await suite.load()).run(opts));
  }

  const mode = values.quick ? "quick, ≥0.1 s per case" : "≥0.5 s per case";
  console.log(
    `TaskFerry bench — deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ` +
      `${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs, ${mode}, ` +
      `${new Date().toISOString()}\n`,
  );
  console.log(markdownTable(rows));
  console.log(`\n(${rows.length} cases in ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
