/**
 * Offers suite (issue 17): one requester offers a task to `cap:review` and three candidate
 * daemons claim it the moment they see it; the clock runs from the offer call until the
 * requester's daemon shows the task assigned (`accepted`). Sequential, so each figure is one
 * offer's latency: sealing to three candidates, three deliveries, three claims back, the
 * requester's decision and its signed assignment. Relay and four daemons share this process; the
 * candidates and the requester are read through their loopback APIs every 2 ms.
 * @module
 */
import { setLogLevel } from "../lib/log.ts";
import { claim, offer, REVIEWERS, startClaimsWorld, view } from "../tests/client/claims_world.ts";
import type { TestDaemon } from "../tests/client/world.ts";
import type { BenchOptions, BenchRow } from "./main.ts";

const SUITE = "offers";

/** Polls `fn` every 2 ms until it is truthy (30 s at most). */
async function until(fn: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error("offers bench: timed out");
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A candidate claims as soon as its daemon shows the offer. */
async function claimWhenSeen(d: TestDaemon, agent: string, id: string) {
  await until(async () => (await view(d, id).catch(() => null))?.state === "offered");
  await claim(d, id, agent).catch(() => {}); // a late claim is refused: that is the point
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Runs the offers suite. */
export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  if (!Deno.env.get("TASKFERRY_LOG_LEVEL")) setLogLevel("error");
  const n = opts.quick ? 4 : 20;
  const w = await startClaimsWorld();
  const latencies: number[] = [];
  const started = performance.now();
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const task = await offer(w.boss, "cap:review", `bench review ${i}`);
      const claims = w.candidates.map((d, k) => claimWhenSeen(d, REVIEWERS[k]!, task.id));
      await until(async () => (await view(w.boss, task.id)).state === "accepted");
      latencies.push(performance.now() - t0);
      await Promise.all(claims);
    }
  } finally {
    await w.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  return [{
    suite: SUITE,
    name: "offer → assigned, 3 candidate daemons claiming at once (sequential offers)",
    runs: n,
    seconds,
    rate: n / seconds,
    note: `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${
      percentile(sorted, 99).toFixed(1)
    } ms (read every 2 ms; relay and 4 daemons in one process)`,
  }];
}
