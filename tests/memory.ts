/**
 * Memory tests that hold under `deno test --parallel`: a probe script runs in a process of its
 * own with `--v8-flags=--expose-gc` (so no other test module's allocations count) and samples what
 * is live after collecting garbage (so garbage the collector has not reached yet does not count:
 * that moved in-process RSS by 20–186 MiB from run to run). Each probe also has a `--hold` mode
 * that keeps the whole file, as a regression would: its test checks the bound catches that.
 */
import { assert } from "./assert.ts";

const LOCK = new URL("./deno.lock", import.meta.url).pathname;

/** What a probe measured: bytes live (V8 heap plus external buffers) and RSS. */
export interface LiveMemory {
  live: number;
  rss: number;
}

/**
 * In a probe: collects garbage and returns what is live. Twice: a collection finishes the
 * previous one's concurrent sweeping, whose freed buffers would otherwise still count (20–25 MB
 * after a file transfer, more on a loaded machine).
 */
export function liveMemory(): LiveMemory {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --v8-flags=--expose-gc");
  gc();
  gc();
  const m = Deno.memoryUsage();
  return { live: m.heapUsed + m.external, rss: m.rss };
}

/** In a probe: tracks the peak growth over the live memory at its creation. */
export class PeakGrowth {
  private readonly start = liveMemory();
  /** Peak growth seen by {@link sample}, in bytes. */
  readonly peak: LiveMemory = { live: 0, rss: 0 };

  /** Collects garbage and records the growth. */
  sample() {
    const now = liveMemory();
    this.peak.live = Math.max(this.peak.live, now.live - this.start.live);
    this.peak.rss = Math.max(this.peak.rss, now.rss - this.start.rss);
  }
}

/** In a test: runs `probe` with `args` in a process of its own; returns its last JSON line. */
export async function runProbe<T>(probe: URL, args: string[]): Promise<T> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--lock=${LOCK}`, "--v8-flags=--expose-gc", probe.pathname, ...args],
    env: { TASKFERRY_LOG_LEVEL: "warn" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(out.success, `the probe failed:\n${text}\n${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(text.split("\n").at(-1)!);
}
