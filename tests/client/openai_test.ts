/**
 * The OpenAI-compatible `POST /v1/responses`, driven by the official `openai` npm client
 * against a test world: alice's daemon delegates to @bob/writer, whose side is the demo writer
 * agent (or the SDK, for declines and timeouts).
 */
import { OpenAI } from "../deps/openai.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { runWriter } from "../../lib/agents/mod.ts";
import { eventually, startWorld, type World } from "./world.ts";

function clientOf(w: World, opts: { apiKey?: string; headers?: Record<string, string> } = {}) {
  return new OpenAI({
    baseURL: `${w.alice.running.url}/v1`,
    apiKey: opts.apiKey ?? w.alice.token,
    ...(opts.headers ? { defaultHeaders: opts.headers } : {}),
  });
}

/** Runs bob's demo writer until the returned stop function is called. */
function startWriter(w: World): () => Promise<void> {
  const ctl = new AbortController();
  const done = runWriter({
    api: w.bob.api,
    handle: "@bob/writer",
    signal: ctl.signal,
    waitSeconds: 1,
  }).catch((err) => {
    if (!ctl.signal.aborted) throw err;
  });
  return async () => {
    ctl.abort();
    await done;
  };
}

Deno.test("openai: responses.create delegates a task and answers with the first artifact", async (t) => {
  const w = await startWorld();
  const stopWriter = startWriter(w);
  try {
    const client = clientOf(w);

    await t.step("non-streaming, string input", async () => {
      const input = "Write a haiku about ferries\nMention the morning fog, please.";
      const response = await client.responses.create({ model: "@bob/writer", input });
      assertEquals(response.object, "response");
      assertEquals(response.status, "completed");
      assertEquals(response.model, "@bob/writer");
      const taskId = response.metadata?.task_id;
      assert(taskId?.startsWith("task_"), "metadata.task_id");
      assertEquals(response.id, `resp_${taskId}`);
      assert(Math.abs(response.created_at - Date.now() / 1000) < 60, "created_at in seconds");
      assertEquals(response.output.length, 1);
      const item = response.output[0]!;
      assert(item.type === "message" && item.role === "assistant" && item.status === "completed");
      const part = item.content[0]!;
      assert(part.type === "output_text");
      assertEquals(part.annotations, []);
      assert(part.text.startsWith("# Write a haiku about ferries"), part.text);
      assert(part.text.includes(`written for: ${input}`), "the full text is the instructions");
      assertEquals(response.output_text, part.text);
      assertEquals(response.usage?.total_tokens, 0);
      // The daemon's task: title = first line, instructions = full text, completed by default.
      const detail = await eventually(async () => {
        const d = await w.alice.api.task(taskId!);
        return d.task.state === "completed" ? d : null;
      });
      assertEquals(detail.task.title, "Write a haiku about ferries");
      assertEquals(detail.task.instructions, input);
      assertEquals(detail.task.requester, "@alice/requester");
      // GET /v1/responses/:id reads it back.
      const again = await client.responses.retrieve(response.id);
      assertEquals(again.status, "completed");
      assertEquals(again.output_text, part.text);
    });

    await t.step("streaming, message-list input", async () => {
      const stream = await client.responses.create({
        model: "@bob/writer",
        stream: true,
        input: [
          { role: "system", content: "Be brief." },
          { role: "user", content: [{ type: "input_text", text: "Stream a haiku\nabout tides" }] },
        ],
        metadata: { agent: "@alice/requester", timeout_seconds: "60" },
      });
      const types: string[] = [];
      const seqs: number[] = [];
      let deltas = "";
      let done = "";
      let final: OpenAI.Responses.Response | null = null;
      for await (const event of stream) {
        types.push(event.type);
        seqs.push(event.sequence_number);
        if (event.type === "response.output_text.delta") deltas += event.delta;
        if (event.type === "response.output_text.done") done = event.text;
        if (event.type === "response.completed") final = event.response;
      }
      assertEquals(types, [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
      ]);
      assertEquals(seqs, types.map((_, i) => i));
      assert(done.startsWith("# Stream a haiku"), done);
      assert(done.includes("system: Be brief."), "roles are kept in a multi-message input");
      assertEquals(deltas, done);
      assert(final !== null);
      assertEquals(final.status, "completed");
      assertEquals(final.output_text ?? done, done);
      const task = await w.alice.api.task(final.metadata!.task_id!);
      assertEquals(task.task.title, "Stream a haiku");
    });

    await t.step("the stream helper assembles the final response", async () => {
      const stream = client.responses.stream({ model: "@bob/writer", input: "Helper haiku" });
      const final = await stream.finalResponse();
      assertEquals(final.status, "completed");
      assert(final.output_text.startsWith("# Helper haiku"), final.output_text);
    });

    await t.step("a follow-up (previous_response_id) becomes a revision request", async () => {
      const first = await client.responses.create({
        model: "@bob/writer",
        input: "Haiku with revisions",
        metadata: { keep_open: "true" },
      });
      assertEquals(first.metadata?.task_state, "submitted");
      const second = await client.responses.create({
        model: "@bob/writer",
        input: "more waves",
        previous_response_id: first.id,
      });
      assertEquals(second.id, first.id);
      assert(second.output_text.includes('Revised for the feedback: "more waves"'));
      assert(second.output_text.includes("Draft v2"), second.output_text);
      const task = await eventually(async () => {
        const d = await w.alice.api.task(first.metadata!.task_id!);
        return d.task.state === "completed" ? d : null;
      });
      assertEquals(task.task.revisions, 1);
    });

    await t.step("GET /v1/models lists connected agents", async () => {
      const models = [];
      for await (const m of client.models.list()) models.push(m.id);
      assertEquals(models, ["@bob/writer"]);
    });
  } finally {
    await stopWriter();
    await w.close();
  }
});

Deno.test("openai: errors in OpenAI's shape; declines, timeouts and streams that fail", async (t) => {
  const w = await startWorld();
  try {
    const client = clientOf(w);

    await t.step("unknown or unconnected model → 404 model_not_found", async () => {
      for (const model of ["@bob/nobody", "gpt-4o"]) {
        const err = await assertRejects(
          () => client.responses.create({ model, input: "hi" }),
          OpenAI.NotFoundError,
        );
        assertEquals(err.status, 404);
        assertEquals(err.code, "model_not_found");
        assertEquals(err.type, "invalid_request_error");
        assertEquals(err.param, "model");
      }
    });

    await t.step("bad input → 400 invalid_request_error", async () => {
      const cases: [Record<string, unknown>, string | null][] = [
        [{ model: "@bob/writer", input: [] }, "input"],
        [{ model: "@bob/writer" }, "input"],
        [{
          model: "@bob/writer",
          input: [{ role: "user", content: [{ type: "input_image", image_url: "x" }] }],
        }, "input[0].content[0]"],
        [
          { model: "@bob/writer", input: "x", metadata: { timeout_seconds: "0" } },
          "metadata.timeout_seconds",
        ],
        [
          { model: "@bob/writer", input: "x", metadata: { agent: "@alice/ghost" } },
          "metadata.agent",
        ],
      ];
      for (const [body, param] of cases) {
        const err = await assertRejects(
          () =>
            client.responses.create(
              body as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming,
            ),
          OpenAI.BadRequestError,
        );
        assertEquals(err.type, "invalid_request_error", JSON.stringify(body));
        assertEquals(err.param, param, JSON.stringify(err.error));
      }
      // The raw body is OpenAI's error shape.
      const res = await fetch(`${w.alice.running.url}/v1/responses`, {
        method: "POST",
        headers: { authorization: `Bearer ${w.alice.token}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "@bob/writer", input: 42 }),
      });
      assertEquals(res.status, 400);
      const body = await res.json();
      assertEquals(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
    });

    await t.step("wrong key → 401", async () => {
      const bad = clientOf(w, { apiKey: "not-the-token" });
      const err = await assertRejects(
        () => bad.responses.create({ model: "@bob/writer", input: "hi" }),
        OpenAI.AuthenticationError,
      );
      assertEquals(err.status, 401);
    });

    await t.step("no answer in time → 504, not retried (one task)", async () => {
      const before = (await w.alice.api.tasks()).length;
      const err = await assertRejects(
        () =>
          client.responses.create({
            model: "@bob/writer",
            input: "Nobody will answer",
            metadata: { timeout_seconds: "1" },
          }),
        OpenAI.APIError,
      );
      assertEquals(err.status, 504);
      assertEquals(err.code, "timeout");
      assertEquals((await w.alice.api.tasks()).length, before + 1);
    });

    await t.step("streaming timeout → an error event", async () => {
      const stream = await client.responses.create({
        model: "@bob/writer",
        input: "Nobody will answer either",
        stream: true,
        metadata: { timeout_seconds: "1" },
      });
      const seen: string[] = [];
      const err = await assertRejects(async () => {
        for await (const event of stream) seen.push(event.type);
      }, OpenAI.APIError);
      assertEquals(seen, ["response.created", "response.in_progress"]);
      assertEquals(err.code, "timeout");
    });

    await t.step("a task the relay refuses → its catalogue code and reason", async () => {
      // bob's owner stops tasks from alice; the relay refuses the task_request. The daemon
      // stores the refusal's code apart from its reason, and the answer carries both.
      await w.bob.api.setPermissions("@alice/requester", "@bob/writer", { can_send_task: false });
      try {
        const err = await assertRejects(
          () =>
            client.responses.create({
              model: "@bob/writer",
              input: "Refused, please",
              metadata: { timeout_seconds: "30" },
            }),
          OpenAI.PermissionDeniedError,
        );
        assertEquals(err.status, 403);
        assertEquals(err.code, "permission_denied");
        assert(err.message.includes("task_request"), err.message);
        assert(!err.message.includes("permission_denied:"), "the reason is not the stored text");
      } finally {
        await w.bob.api.setPermissions("@alice/requester", "@bob/writer", {
          can_send_task: true,
        });
      }
    });

    await t.step("a declined task → status failed with the reason", async () => {
      const bob = w.bob.api;
      const declining = (async () => {
        const { item } = await bob.waitForInbox(
          "@bob/writer",
          (m) => m.type === "task_request" && m.payload.title === "Please decline",
        );
        await bob.declineTask(item.task_id!, { reason: "Not my genre." });
      })();
      const response = await client.responses.create({
        model: "@bob/writer",
        input: "Please decline",
        metadata: { timeout_seconds: "30" },
      });
      await declining;
      assertEquals(response.status, "failed");
      assertEquals(response.error?.code as string, "task_declined");
      assertEquals(response.error?.message, "Not my genre.");
      assertEquals(response.output, []);
    });
  } finally {
    await w.close();
  }
});
