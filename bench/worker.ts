/**
 * Worker suite: what `taskferry worker` adds between a request and an answer (design §11, §15).
 *
 * A relay and two daemons in this process (bench/daemon.ts `startWorld`); bob's agent is run by
 * the worker runtime (lib/worker, in this process) whose rounds are real child processes.
 * - `task_request` on alice → the child process spawned at bob (the worker's "run started"),
 *   and a line the child prints (its own wall-clock time) → the `task_progress` event on alice's
 *   SSE stream (`GET /v1/events`): p50/p99 over sequential tasks, the child `deno run` of a
 *   script that prints its time.
 * - Runs per second with a trivial command (`echo`), several tasks in flight, end to end
 *   (task_request → artifact at alice).
 * - One question to a remote script worker, asked three ways in one run — A2A `SendMessage`
 *   (blocking, the official `@a2a-js/sdk` client against alice's `/a2a/bob/b`), `POST /v1/tasks`
 *   + the artifact event on SSE, and `POST /v1/responses` (blocking) — round trip p50 of each.
 * @module
 */
import { join } from "node:path";
import { Role } from "@a2a-js/sdk";
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from "@a2a-js/sdk/client";
import type { Logger } from "../lib/log.ts";
import { setLogLevel } from "../lib/log.ts";
import { ApiError } from "../lib/sdk/mod.ts";
import { loopbackWorkerApi, presetFor, Worker } from "../lib/worker/mod.ts";
import { ALICE, BOB, startWorld, type World } from "./daemon.ts";
import type { BenchOptions, BenchRow } from "./main.ts";
import { TaskEvents, wall } from "./task_events.ts";

const SUITE = "worker";

function stats(values: number[]): { p50: number; p99: number; text: string } {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    s[Math.min(s.length - 1, Math.max(0, Math.ceil(p / 100 * s.length) - 1))]!;
  const f = (v: number) => v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(1)} ms`;
  return {
    p50: at(50),
    p99: at(99),
    text: `p50 ${f(at(50))}, p99 ${f(at(99))}, max ${f(s.at(-1)!)}`,
  };
}

/** A worker for bob's agent running `base`; `started` maps task ids to spawn times (wall). */
function startWorker(world: World, dir: string, base: string[], concurrency: number) {
  const started = new Map<string, number>();
  const quiet = () => {};
  const log: Logger = {
    debug: quiet,
    warn: quiet,
    error: quiet,
    info: (msg, fields) => {
      if (msg === "run started") started.set(String(fields?.task), wall());
    },
  };
  const worker = new Worker(loopbackWorkerApi(world.bob.api), {
    agent: BOB,
    base,
    preset: presetFor(undefined),
    extraArgs: [],
    workdir: dir,
    concurrency,
    graceMs: 1000,
    log,
  });
  const ac = new AbortController();
  const running = worker.run(ac.signal);
  return { started, stop: async () => (ac.abort(), await running) };
}

/** Requesters in flight for the runs/s case. */
const IN_FLIGHT = 8;

/** Alice accepts the answer: the task is no longer open (a connection allows 20 open tasks). */
async function complete(world: World, id: string) {
  // `/v1/responses` completes its task itself when it answers.
  await world.alice.api.completeTask(id, { agent: ALICE }).catch((err) => {
    if (!(err instanceof ApiError && err.code === "illegal_transition")) throw err;
  });
}

const task = (title: string) => ({ from: ALICE, to: BOB, title, instructions: "Benchmark." });

async function childAndProgress(
  world: World,
  events: TaskEvents,
  dir: string,
  opts: BenchOptions,
): Promise<BenchRow[]> {
  const script = join(dir, "stamp.js");
  Deno.writeTextFileSync(
    script,
    "console.log(String(performance.timeOrigin + performance.now()));\n",
  );
  const argv = [Deno.execPath(), "run", "--no-config", "--quiet", script];
  const w = startWorker(world, join(dir, "w1"), argv, 1);
  const spawn: number[] = [];
  const progress: number[] = [];
  const count = opts.quick ? 6 : 30;
  const t0 = performance.now();
  try {
    for (let i = -2; i < count; i++) { // two warm-up tasks
      const sent = wall();
      const { task: t } = await world.alice.api.createTask(task(`stamp ${i}`));
      const seen = await events.of(t.id, "task_progress");
      await events.of(t.id, "artifact_submit");
      // The child's stdout — the time it printed its line — is the artifact.
      const printed = Number((await world.alice.api.task(t.id)).artifacts[0]?.content);
      if (i < 0) continue;
      await complete(world, t.id);
      spawn.push(w.started.get(t.id)! - sent);
      progress.push(seen - printed);
    }
  } finally {
    await w.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  const a = stats(spawn), b = stats(progress);
  console.error(`  task_request → child: ${a.text}; printed → SSE: ${b.text}`);
  return [
    {
      suite: SUITE,
      name: "task_request at alice → worker child process spawned at bob (sequential)",
      runs: count,
      seconds,
      rate: NaN,
      note: a.text,
    },
    {
      suite: SUITE,
      name: "line printed by the child → task_progress on alice's SSE (GET /v1/events)",
      runs: count,
      seconds,
      rate: NaN,
      note: `${b.text} (first line of a run: sent at once, later lines ≤ 1/s)`,
    },
  ];
}

async function runsPerSecond(world: World, events: TaskEvents, dir: string, opts: BenchOptions) {
  const concurrency = 4;
  const w = startWorker(world, join(dir, "w2"), ["echo", "done"], concurrency);
  const total = opts.quick ? 12 : 60;
  try {
    const t0 = performance.now();
    // IN_FLIGHT requesters, each completing its task before the next one (a connection allows
    // 20 open tasks by default).
    let next = 0;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (next < total) {
        const { task: t } = await world.alice.api.createTask(task(`echo ${next++}`));
        await events.of(t.id, "artifact_submit", 60_000);
        await complete(world, t.id);
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    console.error(`  runs/s: ${(total / seconds).toFixed(1)}`);
    return {
      suite: SUITE,
      name:
        `worker runs of \`echo done\`, ${IN_FLIGHT} tasks in flight, --concurrency ${concurrency}`,
      runs: total,
      seconds,
      rate: total / seconds,
      note: "runs/s end to end: task_request at alice → artifact v1 event at alice",
    };
  } finally {
    await w.stop();
  }
}

async function threeWays(world: World, events: TaskEvents, dir: string, opts: BenchOptions) {
  const w = startWorker(world, join(dir, "w3"), ["sh", "-c", 'read -r t; echo "done: $t"'], 1);
  const { url, token } = world.alice.running;
  const fetchImpl: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set("authorization", `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
  const client = await new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    }),
  ).createFromUrl(`${url}/a2a/${BOB.slice(1)}/`);
  /** Each way asks once and answers the TaskFerry task id (completed after the timing). */
  const ways: Record<string, () => Promise<string>> = {
    "A2A SendMessage (blocking)": async () => {
      const t = await client.sendMessage({
        tenant: "",
        message: {
          messageId: crypto.randomUUID(),
          contextId: "",
          taskId: "",
          role: Role.ROLE_USER,
          parts: [{
            content: { $case: "text", value: "Benchmark." },
            metadata: undefined,
            filename: "",
            mediaType: "",
          }],
          metadata: undefined,
          extensions: [],
          referenceTaskIds: [],
        },
        configuration: undefined,
        metadata: undefined,
      });
      if (!("artifacts" in t) || !t.artifacts.length) {
        throw new Error(`A2A: no artifact: ${JSON.stringify(t)}`);
      }
      return t.id; // the A2A task id is the TaskFerry task id
    },
    "POST /v1/tasks + artifact event (SSE)": async () => {
      const { task: t } = await world.alice.api.createTask(task("tasks route"));
      await events.of(t.id, "artifact_submit");
      return t.id;
    },
    "POST /v1/responses (blocking)": async () => {
      const res = await fetchImpl(`${url}/v1/responses`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: BOB, input: "Benchmark." }),
      });
      const body = await res.json();
      if (body.status !== "completed") throw new Error(`responses: ${JSON.stringify(body)}`);
      return String(body.id).replace(/^resp_/, "");
    },
  };
  const rounds = opts.quick ? 4 : 20;
  const times: Record<string, number[]> = {};
  try {
    for (const fn of Object.values(ways)) await complete(world, await fn()); // warm-up
    // Interleaved, so drift (caches, a growing task list) hits the three alike.
    for (let i = 0; i < rounds; i++) {
      for (const [name, fn] of Object.entries(ways)) {
        const t0 = performance.now();
        const id = await fn();
        (times[name] ??= []).push(performance.now() - t0);
        await complete(world, id);
      }
    }
  } finally {
    await w.stop();
  }
  const base = stats(times["POST /v1/tasks + artifact event (SSE)"]!).p50;
  return Object.entries(times).map(([name, values]): BenchRow => {
    const s = stats(values);
    const seconds = values.reduce((a, b) => a + b, 0) / 1000;
    console.error(`  ${name}: ${s.text}`);
    return {
      suite: SUITE,
      name: `${name} → remote script worker → answer at alice`,
      runs: values.length,
      seconds,
      rate: values.length / seconds,
      note: `${s.text}; p50 ×${(s.p50 / base).toFixed(2)} of /v1/tasks`,
    };
  });
}

/** Runs the worker suite. */
export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  if (!Deno.env.get("TASKFERRY_LOG_LEVEL")) setLogLevel("warn");
  const world = await startWorld();
  const dir = await Deno.makeTempDir({ prefix: "tf-bench-worker-" });
  const events = new TaskEvents(world.alice.running.url, world.alice.running.token, ALICE);
  try {
    await events.ready;
    return [
      ...await childAndProgress(world, events, dir, opts),
      await runsPerSecond(world, events, dir, opts),
      ...await threeWays(world, events, dir, opts),
    ];
  } finally {
    await events.close();
    await world.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
