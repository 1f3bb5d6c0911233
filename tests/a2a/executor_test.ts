/**
 * The inbound direction: `runA2ARound` drives a local A2A server agent built with the official
 * SDK server — streaming progress, the artifact, a follow-up on the same A2A task, and cancel.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { runA2ARound } from "../../lib/a2a/executor.ts";
import { startTestAgent } from "./agent.ts";

Deno.test("a2a executor: a round streams progress and returns the artifact; a revision continues the A2A task", async () => {
  const agent = startTestAgent();
  try {
    const progress: string[] = [];
    const r1 = await runA2ARound({
      url: agent.url,
      prompt: "Write a haiku about ferries",
      taskId: "task_01M800TAA76RWNMDMVRFVC5GA9",
      revision: 0,
      onProgress: (t) => void progress.push(t),
    });
    assertEquals(r1.outcome, "artifact");
    assertEquals(r1.text, "answer to: Write a haiku about ferries");
    assertEquals(r1.state, "TASK_STATE_INPUT_REQUIRED");
    assertEquals(progress, ["thinking about: Write a haiku about ferries"]);
    assert(r1.a2a.taskId !== "" && r1.a2a.contextId !== "");

    const r2 = await runA2ARound({
      url: agent.url,
      prompt: "More waves",
      taskId: "task_01M800TAA76RWNMDMVRFVC5GA9",
      revision: 1,
      previous: r1.a2a,
    });
    assertEquals(r2.outcome, "artifact");
    assertEquals(r2.text, "revised: More waves", "only this round's artifact");
    assertEquals(r2.state, "TASK_STATE_COMPLETED");
    assertEquals(r2.a2a, r1.a2a, "the same A2A task and context");

    // The A2A task is completed now: a further revision starts a new task in the same context.
    const r3 = await runA2ARound({
      url: agent.url,
      prompt: "Once more",
      taskId: "task_01M800TAA76RWNMDMVRFVC5GA9",
      revision: 2,
      previous: r2.a2a,
    });
    assertEquals(r3.text, "answer to: Once more");
    assertEquals(r3.a2a.contextId, r1.a2a.contextId);
    assert(r3.a2a.taskId !== r1.a2a.taskId);
  } finally {
    await agent.close();
  }
});

Deno.test("a2a executor: aborting cancels the A2A task and rejects with the reason", async () => {
  const agent = startTestAgent();
  try {
    const ctl = new AbortController();
    let started: () => void;
    const working = new Promise<void>((r) => (started = r));
    const round = runA2ARound({
      url: agent.url,
      prompt: "something slow",
      taskId: "task_01M800TAA76RWNMDMVRFVC5GA9",
      revision: 0,
      signal: ctl.signal,
      onProgress: () => started(),
    });
    await working;
    ctl.abort(new Error("cancelled by the requester"));
    const err = await assertRejects(() => round);
    assertEquals(err.message, "cancelled by the requester");
    assertEquals(agent.cancels.length, 1, "CancelTask reached the agent");
  } finally {
    await agent.close();
  }
});

Deno.test("a2a executor: an agent without streaming is sent a blocking message and read back", async () => {
  const agent = startTestAgent({ streaming: false });
  try {
    const r = await runA2ARound({
      url: agent.url,
      prompt: "No streams here",
      taskId: "task_01M800TAA76RWNMDMVRFVC5GA9",
      revision: 0,
    });
    assertEquals(r.outcome, "artifact");
    assertEquals(r.text, "answer to: No streams here");
    assertEquals(r.state, "TASK_STATE_INPUT_REQUIRED");
  } finally {
    await agent.close();
  }
});
