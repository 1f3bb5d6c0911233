/** Helpers for the worker tests: a worker over the fake daemon, a recording logger, pid checks. */
import type { Logger } from "../../lib/log.ts";
import type { WorkerConfig } from "../../lib/worker/config.ts";
import { presetFor } from "../../lib/worker/presets.ts";
import { Worker } from "../../lib/worker/runner.ts";
import { AGENT, FakeDaemon } from "./fake_api.ts";

/** A logger that keeps its lines (tests assert on stderr forwarding). */
export function recordingLogger(): Logger & {
  lines: { msg: string; fields: Record<string, unknown> }[];
} {
  const lines: { msg: string; fields: Record<string, unknown> }[] = [];
  const write = (msg: string, fields: Record<string, unknown> = {}) =>
    void lines.push({ msg, fields });
  return { lines, debug: write, info: write, warn: write, error: write };
}

/** A running worker under test. */
export interface TestWorker {
  fake: FakeDaemon;
  worker: Worker;
  workdir: string;
  log: ReturnType<typeof recordingLogger>;
  /** Stops the worker (its children too) and waits for it. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a worker for {@link AGENT} against `fake` (a new one unless given). */
export function startWorker(
  opts: Partial<Omit<WorkerConfig, "preset" | "log">> & { preset?: string; fake?: FakeDaemon },
): TestWorker {
  const fake = opts.fake ?? new FakeDaemon();
  const own = opts.workdir === undefined;
  const workdir = opts.workdir ?? Deno.makeTempDirSync({ prefix: "tf-worker-" });
  const log = recordingLogger();
  const worker = new Worker(fake, {
    agent: AGENT,
    base: opts.base ?? ["true"],
    preset: presetFor(opts.preset),
    extraArgs: opts.extraArgs ?? [],
    workdir,
    concurrency: opts.concurrency ?? 1,
    graceMs: opts.graceMs ?? 2000,
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    coalescer: opts.coalescer ?? { intervalMs: 20, maxChars: 4000 },
    log,
  });
  const ac = new AbortController();
  const running = worker.run(ac.signal);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (ac.abort(), running).finally(() => {
      if (own) Deno.removeSync(workdir, { recursive: true });
    });
  return { fake, worker, workdir, log, stop, [Symbol.asyncDispose]: stop };
}

/** A temporary directory removed when the test's `using` scope ends. */
export function tempDir(prefix: string): { path: string } & Disposable {
  const path = Deno.makeTempDirSync({ prefix });
  return {
    path,
    [Symbol.dispose]: () => {
      try {
        Deno.removeSync(path, { recursive: true });
      } catch {
        // already gone
      }
    },
  };
}

/** True while `pid` is a live process (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Polls `check` every 10 ms up to `ms` (for process state, which sends no events). */
export async function poll(what: string, check: () => boolean, ms = 5000): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - start;
}

/** Reads a file the child wrote, or null. */
export function readMaybe(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}
