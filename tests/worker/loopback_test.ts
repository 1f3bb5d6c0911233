/**
 * The worker over the real loopback API (lib/worker/api.ts → lib/sdk → a real daemon), with an
 * in-process relay and daemons (tests/client/world.ts): the parts of the contract that need no
 * new daemon routes — accept, submit, the inbox wake-up on a new task and on a cancel — and the
 * CLI's settings (flag = env = config key) and usage errors.
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { UsageError } from "../../lib/cli/command.ts";
import { workerCommand } from "../../lib/cli/worker.ts";
import { wakeCommand } from "../../lib/cli/wake.ts";
import { logger } from "../../lib/log.ts";
import { loopbackWorkerApi, presetFor, runWake, Worker } from "../../lib/worker/mod.ts";
import { eventually, startWorld } from "../client/world.ts";
import { alive, poll, readMaybe, tempDir } from "./helpers.ts";

const ALICE = "@alice/requester";
const BOB = "@bob/writer";

Deno.test("worker over the loopback API: a task is accepted, run and submitted; a cancel stops the child", async () => {
  const world = await startWorld();
  using dir = tempDir("tf-worker-");
  const workdir = dir.path;
  const ac = new AbortController();
  const worker = new Worker(loopbackWorkerApi(world.bob.api), {
    agent: BOB,
    base: [
      "sh",
      "-c",
      `echo $$ > pid; read -r title; [ "$title" = "# Task: Sleep" ] && sleep 30; echo "did: $title"`,
    ],
    preset: presetFor(undefined),
    extraArgs: [],
    workdir,
    concurrency: 1,
    graceMs: 1000,
    log: logger("worker-test"),
  });
  const running = worker.run(ac.signal);
  try {
    const { task } = await world.alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Haiku",
      instructions: "About ferries.",
    });
    const done = await eventually(async () => {
      const d = await world.alice.api.task(task.id);
      return d.task.state === "submitted" ? d : null;
    });
    assertEquals(done.artifacts.map((a) => [a.version, a.content]), [[1, "did: # Task: Haiku\n"]]);

    const sleepy = (await world.alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Sleep",
      instructions: "Take your time.",
    })).task.id;
    const pid = await eventually(() =>
      Promise.resolve(Number(readMaybe(join(workdir, sleepy, "pid")) ?? 0))
    );
    await poll("the child running", () => alive(pid));
    const t0 = performance.now();
    await world.alice.api.cancelTask(sleepy, { agent: ALICE });
    await poll("the child gone", () => !alive(pid), 5000);
    const ms = performance.now() - t0;
    assert(ms < 3000, `cancel took ${ms} ms`);
    console.log(`cancel at the requester → child gone at the worker: ${Math.round(ms)} ms`);
    assertEquals((await world.bob.api.task(sleepy)).artifacts, []);
  } finally {
    ac.abort();
    await running;
    await world.close();
  }
});

Deno.test("worker and wake CLI: settings from flags, env and config; misuse is a usage error", async () => {
  using dir = tempDir("tf-home-");
  const home = dir.path;
  const usage = (args: string[], cmd = workerCommand) =>
    assertRejects(() => cmd.run(args), UsageError);
  const e1 = await usage(["--home", home, "--exec", "true"]);
  assert(e1.message.includes("--agent is required"), e1.message);
  const e2 = await usage(["--home", home, "--agent", BOB]);
  assert(e2.message.includes("--exec or --preset"), e2.message);
  const e3 = await usage(["--home", home, "--agent", BOB, "--preset", "gemini"]);
  assert(e3.message.includes("claude, codex"), e3.message);
  const e4 = await usage(["--home", home, "--agent", BOB, "--exec", "sh -c 'oops"]);
  assert(e4.message.includes("unclosed ' quote"), e4.message);
  const e5 = await usage(["--home", home, "--agent", BOB, "--exec", "x", "--concurrency", "0"]);
  assert(
    e5.message.includes("TASKFERRY_WORKER_CONCURRENCY") || e5.message.includes("--concurrency"),
  );
  const e6 = await usage(["--home", home, "--agent", BOB, "--exec", "x", "--timeout", "soon"]);
  assert(e6.message.includes("duration"), e6.message);
  // A typo in the config file's worker section is refused, not ignored.
  Deno.writeTextFileSync(join(home, "config.json"), JSON.stringify({ worker: { agnet: BOB } }));
  const e7 = await usage(["--home", home, "--exec", "x"]);
  assert(e7.message.includes('unknown key "agnet"'), e7.message);
  // The config supplies the agent, the env the command: both are read (the usage error proves it
  // got past them to the preset check).
  Deno.writeTextFileSync(
    join(home, "config.json"),
    JSON.stringify({ worker: { agent: BOB, preset: "nope" } }),
  );
  Deno.env.set("TASKFERRY_WORKER_EXEC", "true");
  try {
    const e8 = await usage(["--home", home]);
    assert(e8.message.includes("--preset must be one of"), e8.message);
  } finally {
    Deno.env.delete("TASKFERRY_WORKER_EXEC");
  }
  const e9 = await usage(["--home", home, "--agent", BOB], wakeCommand);
  assert(e9.message.includes("--exec is required"), e9.message);
  assert(
    workerCommand.help.includes("TASKFERRY_WORKER_EXEC") &&
      wakeCommand.help.includes("TASKFERRY_WAKE_DEBOUNCE"),
  );
});

Deno.test("wake over the loopback API: a message to the agent runs the command with its id", async () => {
  const world = await startWorld();
  const ac = new AbortController();
  const runs: string[][] = [];
  using dir = tempDir("tf-wake-");
  const workdir = dir.path;
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const done = runWake({
    api: loopbackWorkerApi(world.bob.api),
    agent: BOB,
    command: ["sh", "-c", 'echo "$TASKFERRY_WAKE_IDS $TASKFERRY_WAKE_TYPES" > woke.txt'],
    debounceMs: 50,
    graceMs: 500,
    workdir,
    log: logger("wake-test"),
    signal: ac.signal,
    onReady: ready,
    onRun: (ids) => runs.push(ids),
  });
  try {
    await isReady;
    const sent = await world.alice.api.send({ from: ALICE, to: BOB, text: "secret words" });
    await eventually(() => Promise.resolve(runs.length > 0));
    assertEquals(runs[0], [sent.message.id]);
    assertEquals(Deno.readTextFileSync(join(workdir, "woke.txt")), `${sent.message.id} message\n`);
  } finally {
    ac.abort();
    await done;
    await world.close();
  }
});
