/**
 * The worker's A2A executor (`--a2a`, lib/worker/a2a_round.ts) against the in-memory daemon
 * (tests/worker/fake_api.ts) and a real `@a2a-js/sdk` server agent (tests/a2a/agent.ts): the
 * A2A ids survive a restart so a revision continues the same A2A task, `--timeout` cancels the
 * A2A task and fails the round, an unreachable agent fails it with `a2a_error`, and the CLI
 * refuses `--a2a` next to `--exec` / `--preset` or with a bad URL (usage errors, exit 2).
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { UsageError } from "../../lib/cli/command.ts";
import { workerCommand } from "../../lib/cli/worker.ts";
import { a2aFailCode } from "../../lib/worker/a2a_round.ts";
import { startTestAgent } from "../a2a/agent.ts";
import { FakeDaemon } from "./fake_api.ts";
import { startWorker, tempDir } from "./helpers.ts";

Deno.test("worker --a2a: a restarted worker continues the same A2A task on a revision", async () => {
  const agent = startTestAgent();
  using dir = tempDir("tf-worker-a2a-");
  const fake = new FakeDaemon();
  try {
    const first = startWorker({ fake, a2a: agent.url, workdir: dir.path });
    const id = fake.addTask({ title: "Haiku", instructions: "About ferries." });
    await fake.until("v1", () => fake.state(id) === "submitted");
    assert(fake.artifacts(id)[0]!.content.startsWith("answer to: # Task: Haiku"));
    assert(fake.progressLog.some((p) => p.input.text.includes("thinking about: # Task: Haiku")));
    await first.stop();

    // A new worker process (same workdir) reads the A2A ids from the task's journal.
    const second = startWorker({ fake, a2a: agent.url, workdir: dir.path });
    try {
      fake.requestRevision(id, "Shorter, please.");
      await fake.until("v2", () => fake.artifacts(id).length === 2);
      assertEquals(fake.artifacts(id)[1]!.content, "revised: Shorter, please.");
      assertEquals(agent.prompts, [agent.prompts[0]!, "Shorter, please."]);
    } finally {
      await second.stop();
    }
  } finally {
    await agent.close();
  }
});

Deno.test("worker --a2a: --timeout cancels the A2A task and fails the round; an unreachable agent fails it", async () => {
  const agent = startTestAgent();
  try {
    await using slow = startWorker({ a2a: agent.url, timeoutMs: 300 });
    const id = slow.fake.addTask({ title: "Epic", instructions: "Something slow." });
    await slow.fake.until("failed", () => slow.fake.state(id) === "failed");
    assertEquals(slow.fake.fails[0]!.input, { code: "timeout", reason: "timed out after 0.3 s" });
    assertEquals(agent.cancels.length, 1, "CancelTask reached the agent");
  } finally {
    await agent.close();
  }
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  await using gone = startWorker({ a2a: `http://127.0.0.1:${port}` });
  const id = gone.fake.addTask();
  await gone.fake.until("failed", () => gone.fake.state(id) === "failed");
  const fail = gone.fake.fails[0]!.input;
  assertEquals(fail.code, "a2a_error");
  assert(fail.reason.startsWith(`the A2A agent at http://127.0.0.1:${port}: `), fail.reason);
  assertEquals(a2aFailCode("TASK_STATE_REJECTED"), "a2a_rejected");
  assertEquals(a2aFailCode("TASK_STATE_AUTH_REQUIRED"), "a2a_auth_required");
});

Deno.test("worker CLI: --a2a is exclusive with --exec and --preset, and takes a URL", async () => {
  using dir = tempDir("tf-home-");
  const base = ["--home", dir.path, "--agent", "@bob/writer"];
  const usage = (args: string[]) => assertRejects(() => workerCommand.run(args), UsageError);
  for (const other of [["--exec", "true"], ["--preset", "claude"]]) {
    const e = await usage([...base, "--a2a", "http://127.0.0.1:9", ...other]);
    assert(e.message.includes("--a2a cannot be combined"), e.message);
  }
  Deno.env.set("TASKFERRY_WORKER_A2A", "127.0.0.1:9999");
  try {
    const e = await usage(base);
    assert(e.message.includes("--a2a takes the agent's base URL"), e.message);
  } finally {
    Deno.env.delete("TASKFERRY_WORKER_A2A");
  }
  assert(workerCommand.help.includes("TASKFERRY_WORKER_A2A"));
});
