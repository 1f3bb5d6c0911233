/**
 * A2A on both ends: alice's official A2A client → alice's daemon (A2A edge) → relay → bob's
 * daemon → a small worker loop standing in for `taskferry worker --a2a` → bob's local A2A agent
 * (official SDK server). Also measures the send → artifact round trip three ways in one run:
 * A2A `SendMessage`, `POST /v1/tasks` + inbox, and `POST /v1/responses`.
 */
import { TaskState } from "@a2a-js/sdk";
import { assert, assertEquals } from "../assert.ts";
import { type A2ARef, runA2ARound } from "../../lib/a2a/mod.ts";
import type { TaskferryClient } from "../../lib/sdk/mod.ts";
import { eventually, startWorld } from "../client/world.ts";
import { startTestAgent } from "./agent.ts";
import { sdkClient, sendRequest, startBridge, text, textOf, userMessage } from "./helpers.ts";

/**
 * Bob's worker loop until `signal` aborts: each round goes to `round` (an A2A agent, or an
 * instant script); its result becomes the artifact; a cancel aborts the running round.
 */
function bobWorker(
  api: TaskferryClient,
  signal: AbortSignal,
  round: (
    r: { taskId: string; prompt: string; revision: number; signal: AbortSignal },
  ) => Promise<string>,
): Promise<void> {
  const running = new Map<string, AbortController>();
  const start = (taskId: string, prompt: string, revision: number) => {
    const ctl = new AbortController();
    running.set(taskId, ctl);
    round({ taskId, prompt, revision, signal: ctl.signal })
      .then((content) => api.submitArtifact(taskId, { content }))
      .catch(() => {})
      .finally(() => running.delete(taskId));
  };
  return (async () => {
    let after = 0;
    while (!signal.aborted) {
      let page;
      try {
        page = await api.inbox({ agent: "@bob/writer", after, wait: 5 }, signal);
      } catch {
        return;
      }
      after = page.next_after;
      for (const m of page.items) {
        const id = m.task_id!;
        if (m.type === "task_request") {
          await api.acceptTask(id);
          start(id, String(m.payload.instructions), 0);
        } else if (m.type === "revision_request") {
          start(id, String(m.payload.feedback), (await api.task(id)).task.revisions);
        } else if (m.type === "task_cancel") {
          running.get(id)?.abort(new Error("cancelled"));
        }
      }
    }
  })();
}

Deno.test("a2a chain: an A2A client's task runs at a remote A2A agent, with progress, revision and cancel", async () => {
  const w = await startWorld();
  const bridge = startBridge(w.alice);
  const agent = startTestAgent();
  const stop = new AbortController();
  const refs = new Map<string, A2ARef>();
  const worker = bobWorker(w.bob.api, stop.signal, async (r) => {
    const previous = refs.get(r.taskId);
    const out = await runA2ARound({
      url: agent.url,
      ...r,
      ...(previous ? { previous } : {}),
      onProgress: async (words) => {
        await w.bob.api.request("POST", `/v1/tasks/${r.taskId}/progress`, { text: words });
      },
    });
    refs.set(r.taskId, out.a2a);
    return out.text;
  });
  try {
    const client = await sdkClient(`${bridge.url}/a2a/bob/writer`, w.alice.token);
    const seen = [];
    for await (const e of client.sendMessageStream(sendRequest(userMessage([text("Haiku")])))) {
      seen.push(e);
    }
    const progress = seen.find((e) =>
      e.payload?.$case === "statusUpdate" &&
      textOf(e.payload.value.status?.message?.parts) === "thinking about: Haiku"
    );
    assert(progress, "the agent's status message arrived as progress");
    const art = seen.find((e) => e.payload?.$case === "artifactUpdate")?.payload;
    assert(art?.$case === "artifactUpdate");
    assertEquals(textOf(art.value.artifact?.parts), "answer to: Haiku");
    const last = seen.at(-1)?.payload;
    assert(last?.$case === "statusUpdate");
    assertEquals(last.value.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
    const taskId = last.value.taskId;

    // Follow-up: a revision, answered by the same A2A task at bob's agent.
    const revised = await client.sendMessage(
      sendRequest(userMessage([text("More waves")], taskId)),
    );
    assert(!("messageId" in revised));
    assertEquals(revised.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
    assertEquals(textOf(revised.artifacts.at(-1)?.parts), "revised: More waves");
    assertEquals(agent.prompts, ["Haiku", "More waves"]);

    // Cancel propagates: A2A CancelTask at alice → task_cancel at bob → CancelTask at the agent.
    const slow = await client.sendMessage(
      sendRequest(userMessage([text("something slow")]), true),
    );
    assert(!("messageId" in slow));
    await eventually(() => Promise.resolve(agent.prompts.includes("something slow")));
    const cancelled = await client.cancelTask({ tenant: "", id: slow.id, metadata: {} });
    assertEquals(cancelled.status?.state, TaskState.TASK_STATE_CANCELED);
    await eventually(() => Promise.resolve(agent.cancels.length === 1));
  } finally {
    stop.abort();
    await worker;
    await agent.close();
    await bridge.close();
    await w.close();
  }
});

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

Deno.test("a2a chain: send → artifact round trip, A2A vs /v1/tasks vs /v1/responses", async () => {
  const w = await startWorld();
  const bridge = startBridge(w.alice);
  const stop = new AbortController();
  const worker = bobWorker(w.bob.api, stop.signal, (r) => Promise.resolve(`done: ${r.prompt}`));
  const rounds = 10;
  try {
    const client = await sdkClient(`${bridge.url}/a2a/bob/writer`, w.alice.token);
    const a2a: number[] = [];
    const tasks: number[] = [];
    const responses: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let t0 = performance.now();
      const task = await client.sendMessage(sendRequest(userMessage([text(`a2a ${i}`)])));
      a2a.push(performance.now() - t0);
      assert(!("messageId" in task));
      assertEquals(textOf(task.artifacts[0]?.parts), `done: a2a ${i}`);
      // Accept it (untimed), so open tasks stay under the connection's limit.
      await client.sendMessage(sendRequest(userMessage([text("accept")], task.id)));

      t0 = performance.now();
      const created = await w.alice.api.createTask({
        from: "@alice/requester",
        to: "@bob/writer",
        title: `tasks ${i}`,
        instructions: `tasks ${i}`,
      });
      await w.alice.api.waitForInbox(
        "@alice/requester",
        (m) => m.type === "artifact_submit" && m.task_id === created.task.id,
      );
      tasks.push(performance.now() - t0);
      await w.alice.api.completeTask(created.task.id);

      t0 = performance.now();
      const res = await fetch(`${w.alice.running.url}/v1/responses`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${w.alice.token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ model: "@bob/writer", input: `responses ${i}` }),
      });
      const body = await res.json();
      responses.push(performance.now() - t0);
      assertEquals(
        body.output_text ?? body.output?.[0]?.content?.[0]?.text,
        `done: responses ${i}`,
      );
    }
    const row = (name: string, xs: number[]) => `${name}: p50 ${p50(xs).toFixed(1)} ms`;
    console.log(
      `send → artifact over ${rounds} rounds: ${row("A2A SendMessage", a2a)}; ` +
        `${row("/v1/tasks", tasks)}; ${row("/v1/responses", responses)}`,
    );
  } finally {
    stop.abort();
    await worker;
    await bridge.close();
    await w.close();
  }
});
