/**
 * OpenAI-compatible delegation on the loopback API: `POST /v1/responses` turns a Responses API
 * call into a TaskFerry task for the agent named by `model`, waits for its first artifact and
 * answers in the Responses shape (JSON, or SSE with `stream: true`). `GET /v1/responses/:id`
 * reads one back, `GET /v1/models` lists the connected agents. Mounted after the bearer-token
 * middleware; errors here use OpenAI's `{ "error": { message, type, param, code } }` shape.
 */
import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { isTerminal } from "../protocol/mod.ts";
import type { Daemon } from "./daemon.ts";
import { type Call, start } from "./openai/call.ts";
import { errorResponse, toOpenAI } from "./openai/errors.ts";
import { awaitOutcome } from "./openai/outcome.ts";
import { DEFAULT_DAEMON_OPTIONS } from "./options.ts";
import { finalize, outputItem, outputPart, responseObject } from "./openai/response.ts";
import { taskDetail } from "./tasks/mod.ts";

export { inputText, RESPONSES_TIMEOUT } from "./openai/call.ts";

/** Mounts the OpenAI-compatible routes on the loopback API (after the auth middleware). */
export function mountOpenAI(app: Hono, d: Daemon) {
  app.get("/v1/models", (c) => {
    const agent = c.req.header("x-taskferry-agent");
    const rows = d.store.connections.connectedPeers(agent);
    return c.json({
      object: "list",
      data: rows.map((r) => ({
        id: r.peer,
        object: "model",
        created: Math.floor(Date.parse(r.created_at) / 1000),
        owned_by: r.peer.slice(1).split("/")[0],
      })),
    });
  });

  app.get("/v1/responses/:id", (c) => {
    try {
      const taskId = c.req.param("id").replace(/^resp_/, "");
      const { task, artifacts } = taskDetail(d, taskId);
      const call: Call = {
        body: { model: task.worker, input: "" },
        agent: task.requester,
        model: task.worker,
        taskId,
        requestId: "",
        baseline: 0,
        createdAt: Math.floor(Date.parse(task.created_at) / 1000),
        timeoutMs: 0,
        keepOpen: true,
      };
      const latest = artifacts.at(-1);
      const state = task.state;
      const status = latest
        ? "completed"
        : state === "expired"
        ? "incomplete"
        : isTerminal(state)
        ? "failed"
        : "in_progress";
      return c.json(responseObject(d, call, status, {
        text: latest,
        ...(status === "failed"
          ? { error: { code: `task_${state}`, message: `the task was ${state}` } }
          : {}),
        ...(status === "incomplete" ? { incomplete: "task_expired" } : {}),
      }));
    } catch (err) {
      return errorResponse(c, err);
    }
  });

  app.post("/v1/responses", async (c) => {
    let call: Call;
    try {
      call = await start(d, c);
    } catch (err) {
      return errorResponse(c, err);
    }
    if (!call.body.stream) {
      try {
        // Bounded by the timeout, not by the client: Deno's legacy `request.signal` also
        // aborts after successful responses (and warns), and the result stays readable later.
        const o = await awaitOutcome(
          d,
          call.taskId,
          call.requestId,
          call.baseline,
          call.timeoutMs,
          new AbortController().signal,
        );
        return c.json(await finalize(d, call, o));
      } catch (err) {
        return errorResponse(c, err);
      }
    }
    return streamSSE(c, async (stream) => {
      let seq = 0;
      const send = (type: string, data: Record<string, unknown>) =>
        stream.writeSSE({
          event: type,
          data: JSON.stringify({ type, sequence_number: seq++, ...data }),
        });
      const abort = new AbortController();
      stream.onAbort(() => abort.abort());
      const keepalive = setInterval(
        () => void stream.write(": keepalive\n\n").catch(() => {}),
        DEFAULT_DAEMON_OPTIONS.streamKeepaliveMs,
      );
      try {
        await send("response.created", { response: responseObject(d, call, "in_progress") });
        await send("response.in_progress", { response: responseObject(d, call, "in_progress") });
        const o = await awaitOutcome(
          d,
          call.taskId,
          call.requestId,
          call.baseline,
          call.timeoutMs,
          abort.signal,
        );
        if (o.kind === "aborted") return;
        const final = await finalize(d, call, o);
        const text = o.kind === "artifact" ? o : o.kind === "ended" ? o.latest : null;
        if (final.status === "completed" && text) {
          const ids = { item_id: text.message_id, output_index: 0, content_index: 0 };
          await send("response.output_item.added", {
            output_index: 0,
            item: outputItem(text, "in_progress"),
          });
          await send("response.content_part.added", { ...ids, part: outputPart("") });
          for (let at = 0; at < text.content.length || at === 0; at += 4096) {
            await send("response.output_text.delta", {
              ...ids,
              delta: text.content.slice(at, at + 4096),
              logprobs: [],
            });
          }
          await send("response.output_text.done", { ...ids, text: text.content, logprobs: [] });
          await send("response.content_part.done", { ...ids, part: outputPart(text.content) });
          await send("response.output_item.done", {
            output_index: 0,
            item: outputItem(text, "completed"),
          });
        }
        const type = final.status === "completed"
          ? "response.completed"
          : final.status === "incomplete"
          ? "response.incomplete"
          : "response.failed";
        await send(type, { response: final });
      } catch (err) {
        const e = toOpenAI(err);
        await send("error", { code: e.code, message: e.message, param: e.param }).catch(() => {});
      } finally {
        clearInterval(keepalive);
      }
    });
  });
}
