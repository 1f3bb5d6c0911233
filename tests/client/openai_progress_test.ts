/**
 * `POST /v1/responses` with `stream: true` while the remote worker reports progress (issue 15),
 * read with the official `openai` npm client: progress lines arrive as reasoning summary parts
 * before the artifact, the stream helper assembles them, and a worker's `task_fail` ends the
 * stream with `response.failed` and an `error` event the client raises as `APIError`.
 */
import { OpenAI } from "../deps/openai.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { ALICE, BOB } from "./helpers.ts";
import { startWorld, type World } from "./world.ts";

/** Plays bob's worker for the task titled `title`: accept, report `lines`, then `end`. */
async function work(
  w: World,
  title: string,
  lines: string[],
  end: { content: string } | { reason: string; code: string },
) {
  const { item } = await w.bob.api.waitForInbox(
    BOB,
    (m) => m.type === "task_request" && m.payload.title === title,
    { timeoutMs: 10_000 },
  );
  const id = item.task_id!;
  await w.bob.api.acceptTask(id);
  for (const line of lines) await w.bob.api.progress(id, line);
  // Let the requester's daemon see every line before the end (progress and the end travel as
  // separate envelopes; the test wants them all in the stream).
  await w.alice.api.waitForTask(id, { states: ["accepted"], timeoutMs: 10_000 });
  for (;;) {
    const seen = (await w.alice.api.task(id)).progress.length;
    if (seen === lines.length) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  if ("content" in end) await w.bob.api.submitArtifact(id, end);
  else await w.bob.api.failTask(id, end.reason, end.code);
}

Deno.test("openai stream: progress as reasoning summary parts, then the artifact; a failure as an error", async (t) => {
  const w = await startWorld();
  const client = new OpenAI({ baseURL: `${w.alice.running.url}/v1`, apiKey: w.alice.token });
  try {
    await t.step("progress lines, then the answer", async () => {
      const worker = work(w, "Stream with progress", ["reading the brief", "drafting"], {
        content: "The answer.",
      });
      const stream = await client.responses.create({
        model: BOB,
        input: "Stream with progress",
        stream: true,
        metadata: { agent: ALICE },
      });
      const types: string[] = [];
      const summary: string[] = [];
      let final: OpenAI.Responses.Response | null = null;
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === "response.reasoning_summary_text.delta") summary.push(event.delta);
        if (event.type === "response.completed") final = event.response;
      }
      await worker;
      const part = [
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
      ];
      assertEquals(types, [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        ...part,
        ...part,
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
      ]);
      assertEquals(summary, ["reading the brief", "drafting"]);
      assert(final !== null);
      assertEquals(final.output.map((o) => o.type), ["reasoning", "message"]);
      const reasoning = final.output[0]!;
      assert(reasoning.type === "reasoning");
      assertEquals(reasoning.summary.map((s) => s.text), ["reading the brief", "drafting"]);
      const message = final.output[1]!;
      assert(message.type === "message" && message.content[0]?.type === "output_text");
      assertEquals(message.content[0].text, "The answer.");
    });

    await t.step("the stream helper assembles progress and answer", async () => {
      const worker = work(w, "Helper with progress", ["one", "two", "three"], {
        content: "Helped.",
      });
      const stream = client.responses.stream({ model: BOB, input: "Helper with progress" });
      const deltas: string[] = [];
      stream.on("response.reasoning_summary_text.delta", (e) => deltas.push(e.delta));
      const final = await stream.finalResponse();
      await worker;
      assertEquals(deltas, ["one", "two", "three"]);
      assertEquals(final.output_text, "Helped.");
      const reasoning = final.output[0]!;
      assert(reasoning.type === "reasoning");
      assertEquals(reasoning.summary.length, 3);
    });

    await t.step("a failing worker → response.failed, then an error event", async () => {
      const worker = work(w, "Doomed stream", ["trying"], {
        reason: "the build broke: exit status 2",
        code: "exit_2",
      });
      const stream = await client.responses.create({
        model: BOB,
        input: "Doomed stream",
        stream: true,
      });
      const seen: string[] = [];
      let failed: OpenAI.Responses.Response | null = null;
      const err = await assertRejects(async () => {
        for await (const event of stream) {
          seen.push(event.type);
          if (event.type === "response.failed") failed = event.response;
        }
      }, OpenAI.APIError);
      await worker;
      assertEquals(seen.at(-1), "response.failed");
      assert(seen.includes("response.reasoning_summary_text.delta"), "progress came first");
      assertEquals(err.code, "task_failed");
      assert(err.message.includes("the build broke: exit status 2"), err.message);
      const response = failed as OpenAI.Responses.Response | null;
      assertEquals(response?.status, "failed");
      assertEquals(response?.error?.message, "the build broke: exit status 2");
      assertEquals(response?.metadata?.failure_code, "exit_2");
      assertEquals(response?.metadata?.task_state, "failed");
      // Read back later: the same failure.
      const again = await client.responses.retrieve(response!.id);
      assertEquals([again.status, again.error?.code as string], ["failed", "task_failed"]);
      assertEquals(again.error?.message, "the build broke: exit status 2");
    });
  } finally {
    await w.close();
  }
});
