/**
 * The demo's worker step (design §11): bob gets a second agent, `@bob/runner`, run by
 * `taskferry worker`'s runtime with a real command — the running deno itself and a tiny script
 * the demo writes to its home, so it exists on every machine. Alice sends it a task; the
 * script's stdout lines reach alice as live progress (her dashboard's task page shows them as
 * they come), then its output comes back as artifact v1 and alice completes the task. The
 * worker keeps running until the demo stops, so tasks sent to @bob/runner from alice's
 * dashboard run too.
 */
import { basename, join } from "node:path";
import { ensureAgent } from "../agents/mod.ts";
import { logger } from "../log.ts";
import type { TaskferryClient } from "../sdk/mod.ts";
import { loopbackWorkerApi, presetFor, Worker } from "../worker/mod.ts";

const REQUESTER = "@alice/requester";
const RUNNER = "@bob/runner";

/**
 * What the child runs: it reads the prompt on stdin, prints a few progress lines (a pause
 * between them, from argv: the owner's setting, never content), then its result.
 */
const SCRIPT = `const pause = Number(Deno.args[0] ?? "40");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const prompt = await new Response(Deno.stdin.readable).text();
const words = prompt.split(/\\s+/).filter((w) => /\\w/.test(w));
console.log(\`step 1/3: read the task (\${prompt.split("\\n").length} lines)\`);
await sleep(pause);
console.log(\`step 2/3: counted \${words.length} words\`);
await sleep(pause);
const longest = words.reduce((a, b) => (b.length > a.length ? b : a), "");
console.log(\`step 3/3: the longest word is "\${longest}"\`);
await sleep(pause);
console.log(\`Result: \${words.length} words, longest "\${longest}".\`);
`;

/** What the step did. */
export interface DemoWorkerStep {
  /** One line for the demo's output. */
  line: string;
  /** The worker, running until the demo's signal aborts. */
  running: Promise<void>;
}

/** The command the worker runs: `deno run <script>`, or the binary itself when compiled. */
export function demoCommand(scriptPath: string, pauseMs: number): string[] {
  const exe = Deno.execPath();
  // A `deno compile`d taskferry cannot run scripts: it runs itself (`--version`, one line).
  if (!/^deno(\.exe)?$/i.test(exe.split(/[\\/]/).pop() ?? "")) return [exe, "--version"];
  return [exe, "run", "--no-config", "--quiet", scriptPath, String(pauseMs)];
}

/**
 * Runs the step: @bob/runner (created and connected to alice's requester if needed) with a
 * worker, and one task from alice through it. `pauseMs` is the script's pause between lines.
 */
export async function runDemoWorker(opts: {
  home: string;
  alice: TaskferryClient;
  bob: TaskferryClient;
  signal: AbortSignal;
  pauseMs?: number;
}): Promise<DemoWorkerStep> {
  const { alice, bob } = opts;
  const started = performance.now();
  await ensureAgent(bob, RUNNER, true);
  await until(async () => (await bob.agents()).find((a) => a.handle === RUNNER)?.registered);
  const linked = async () =>
    (await alice.connections(REQUESTER)).some((c) => c.peer === RUNNER && c.state === "connected");
  if (!await linked()) {
    await alice.connect({ from: REQUESTER, to: RUNNER, note: "demo: a worker-run agent" });
    await bob.waitForInbox(RUNNER, (m) => m.type === "connection_request");
    await bob.acceptConnection(REQUESTER, { agent: RUNNER });
    await until(linked);
  }

  const dir = join(opts.home, "bob", "worker");
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const script = join(dir, "count-words.js");
  Deno.writeTextFileSync(script, SCRIPT);
  const argv = demoCommand(script, opts.pauseMs ?? 40);
  const shown = argv.map((a, i) => i === 0 ? basename(a) : a === script ? basename(a) : a);
  const worker = new Worker(loopbackWorkerApi(bob), {
    agent: RUNNER,
    base: argv,
    preset: presetFor(undefined),
    extraArgs: [],
    workdir: join(dir, "bob_runner"),
    concurrency: 1,
    graceMs: 2000,
    // Each line travels on its own (the default coalesces to one progress a second).
    coalescer: { intervalMs: 20, maxChars: 4000 },
    log: logger("demo-worker"),
  });
  const running = worker.run(opts.signal);

  const { task } = await alice.createTask({
    from: REQUESTER,
    to: RUNNER,
    title: "Count the words",
    instructions: "Count the words of these instructions and name the longest one.",
  });
  const detail = await until(async () => {
    const d = await alice.task(task.id);
    return d.task.state === "submitted" ? d : null;
  });
  // Progress lines are kept apart from the audit events (detail.progress).
  const progress = detail.progress?.length ?? 0;
  await alice.completeTask(task.id, { agent: REQUESTER });
  // The step is over when bob's side shows the task completed (its step line is printed then).
  await until(async () => (await opts.bob.task(task.id)).task.state === "completed");
  const ms = Math.round(performance.now() - started);
  return {
    line: `worker step: ${RUNNER}'s worker ran \`${shown.join(" ")}\` for "${task.title}": ` +
      `${progress} progress updates live at alice, then artifact v1 (${ms} ms)`,
    running,
  };
}

/** Polls `fn` every 20 ms until it returns something truthy; gives up after 30 s. */
async function until<T>(fn: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const v = await fn().catch(() => null);
    if (v) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("the demo's worker step did not finish within 30 s");
}
