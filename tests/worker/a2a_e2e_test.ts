/**
 * `taskferry worker --a2a URL` end to end, every part its own process (tests/worker/e2e_world.ts):
 * a relay, alice's and bob's daemons and the worker — and, as bob's agent, an A2A server built
 * with the official `@a2a-js/sdk` server (tests/a2a/agent.ts). Alice's task runs at the A2A
 * agent, its status messages reach alice as progress, its artifact becomes v1; a revision is a
 * follow-up on the same A2A task; alice's cancel reaches the agent as `CancelTask`; an A2A
 * `rejected` fails the task at both ends with the agent's reason.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { startTestAgent } from "../a2a/agent.ts";
import { ALICE, BOB, startProcessWorld, until } from "./e2e_world.ts";

Deno.test({
  name:
    "e2e worker --a2a: an SDK server agent as bob's worker (progress, revision, cancel, reject)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using world = await startProcessWorld();
    const agent = startTestAgent();
    const { alice, bob } = world;
    const events = world.events("alice");
    const worker = world.worker(["--a2a", agent.url], join(world.root, "w-a2a"), "worker-a2a");
    try {
      const newTask = async (title: string, instructions: string) =>
        (await alice.createTask({ from: ALICE, to: BOB, title, instructions })).task.id;
      const both = (id: string, state: string) =>
        until(
          `${id} ${state} at both ends`,
          async () =>
            (await alice.task(id)).task.state === state &&
            (await bob.task(id)).task.state === state,
        );

      // A task runs at the agent: progress reaches alice, the A2A artifact is v1.
      const id = await newTask("Haiku", "About ferries.");
      await both(id, "submitted");
      const v1 = (await alice.task(id)).artifacts;
      assertEquals(v1.length, 1);
      assert(v1[0]!.content.startsWith("answer to: # Task: Haiku"), v1[0]!.content);
      assertEquals(v1[0]!.content_type, "text/markdown");
      await until("progress at alice", async () =>
        events.text().includes("task_progress") ||
        JSON.stringify((await alice.task(id)).events).includes("thinking about: # Task: Haiku"));

      // A revision is a follow-up message on the same A2A task (the agent answers "revised:").
      await alice.requestRevision(id, { agent: ALICE, feedback: "More gulls." });
      await both(id, "submitted");
      const v2 = (await alice.task(id)).artifacts.at(-1)!;
      assertEquals([v2.version, v2.content], [2, "revised: More gulls."]);
      assertEquals(agent.prompts.at(-1), "More gulls.", "only the feedback is sent again");
      const journal = JSON.parse(
        Deno.readTextFileSync(join(world.root, "w-a2a", ".taskferry", id, "journal.json")),
      );
      assert(journal.a2a.task_id && journal.a2a.context_id, JSON.stringify(journal));
      await alice.completeTask(id, { agent: ALICE });

      // Alice's cancel reaches the A2A agent as CancelTask; nothing is submitted.
      const slow = await newTask("Epic", "Something slow and long.");
      await until(
        "the slow round at the agent",
        () => agent.prompts.some((p) => p.includes("Epic")),
      );
      await alice.cancelTask(slow, { agent: ALICE });
      await until("CancelTask at the agent", () => agent.cancels.length === 1);
      await both(slow, "cancelled");
      assertEquals((await bob.task(slow)).artifacts, []);

      // An A2A `rejected` fails the task at both ends with the agent's reason.
      const refused = await newTask("Limerick", "Please refuse this one.");
      await both(refused, "failed");
      const fail = (await alice.task(refused)).events.find((e) => e.type === "task_fail");
      assertEquals(fail?.data.code, "a2a_rejected");
      assertEquals(fail?.data.reason, "I only write about ferries");
    } finally {
      events.close();
      await worker.stop();
      await agent.close();
    }
  },
});
