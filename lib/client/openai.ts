/**
 * OpenAI-compatible delegation on the loopback API: `POST /v1/responses` turns a Responses API
 * call into a TaskFerry task for the agent named by `model`, waits for its first artifact and
 * answers in the Responses shape (JSON, or SSE with `stream: true`). `GET /v1/responses/:id`
 * reads one back, `GET /v1/models` lists the connected agents. Mounted after the bearer-token
 * middleware; errors here use OpenAI's `{ "error": { message, type, param, code } }` shape.
 */
import type { Hono } from "hono";
import { isTerminal } from "../protocol/mod.ts";
import type { Daemon } from "./daemon.ts";
import { type Call, start } from "./openai/call.ts";
import { errorResponse } from "./openai/errors.ts";
import { awaitOutcome } from "./openai/outcome.ts";
import { finalize, responseObject } from "./openai/response.ts";
import { streamResponse } from "./openai/stream.ts";
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
          ? {
            error: {
              code: `task_${state}`,
              message: task.failure?.reason ?? `the task was ${state}`,
            },
          }
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
    return streamResponse(c, d, call);
  });
}
