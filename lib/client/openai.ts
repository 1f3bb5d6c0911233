/**
 * OpenAI-compatible delegation on the loopback API: `POST /v1/responses` turns a Responses API
 * call into a TaskFerry task for the agent named by `model`, waits for its first artifact and
 * answers in the Responses shape (JSON, or SSE with `stream: true`). `GET /v1/responses/:id`
 * reads one back, `GET /v1/models` lists the connected agents. Mounted after the bearer-token
 * middleware; errors here use OpenAI's `{ "error": { message, type, param, code } }` shape.
 */
import type { Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import {
  ERRORS,
  HandleSchema,
  isTerminal,
  PAYLOAD_SCHEMAS,
  TaskferryError,
  type TaskState,
} from "../protocol/mod.ts";
import type { ArtifactView } from "../protocol/views.ts";
import { readJson } from "../http/mod.ts";
import { logger } from "../log.ts";
import type { Daemon } from "./daemon.ts";
import type { DaemonEvent } from "./events.ts";
import { createTask, taskAction, taskDetail } from "./tasks/mod.ts";

const log = logger("openai");

/** Default and bounds of the wait for an answer, seconds. */
export const RESPONSES_TIMEOUT = { default: 120, min: 1, max: 900 } as const;
const KEEPALIVE_MS = 15_000;

const Part = z.object({ type: z.string(), text: z.string().optional() });
const Message = z.object({
  type: z.literal("message").optional(),
  role: z.enum(["user", "system", "developer", "assistant"]),
  content: z.union([z.string(), z.array(Part)]),
});
const Meta = z.union([z.string(), z.number(), z.boolean()]);
const Body = z.object({
  model: z.string().min(1).max(200),
  input: z.union([z.string().min(1), z.array(Message).min(1).max(100)]),
  instructions: z.string().max(100_000).nullish(),
  stream: z.boolean().nullish(),
  metadata: z.record(z.string(), Meta).nullish(),
  previous_response_id: z.string().max(100).nullish(),
});
type Body = z.infer<typeof Body>;

/** An error in OpenAI's shape. */
class OpenAIError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string | null,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
  body() {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

const invalid = (message: string, param: string | null = null, code = "invalid_value") =>
  new OpenAIError(400, "invalid_request_error", code, message, param);

const TYPE_BY_STATUS: Record<number, string> = {
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  429: "rate_limit_error",
};

/** Any thrown error as an OpenAI error (catalogue codes become `code`). */
function toOpenAI(err: unknown): OpenAIError {
  if (err instanceof OpenAIError) return err;
  if (err instanceof TaskferryError) {
    const details = err.details as { path?: string }[] | undefined;
    const param = Array.isArray(details) && details[0]?.path ? details[0].path : null;
    const type = err.status >= 500
      ? "server_error"
      : err.status === 400 || err.status === 409 || err.status === 413 || err.status === 415
      ? "invalid_request_error"
      : TYPE_BY_STATUS[err.status] ?? "invalid_request_error";
    return new OpenAIError(err.status, type, err.code, err.message, param);
  }
  log.error("unhandled error", { err, stack: (err as Error)?.stack });
  return new OpenAIError(500, "server_error", "internal", ERRORS.internal.message);
}

function errorResponse(c: Context, err: unknown) {
  const e = toOpenAI(err);
  // The official clients retry 5xx (and 409) by default: a retry would create another task.
  c.header("x-should-retry", "false");
  return c.json(e.body(), e.status as 400);
}

/** The text of the input, and the title (first line of the first user text). */
export function inputText(input: Body["input"]): { text: string; title: string } {
  if (typeof input === "string") return { text: input, title: titleOf(input) };
  const parts = input.map((m, i) => {
    const text = typeof m.content === "string" ? m.content : m.content.map((p, j) => {
      if (!["input_text", "output_text", "text"].includes(p.type) || p.text === undefined) {
        throw invalid(
          `content type ${p.type} is not supported: send text (input_text)`,
          `input[${i}].content[${j}]`,
        );
      }
      return p.text;
    }).join("\n");
    return { role: m.role, text };
  });
  const first = parts.find((p) => p.role === "user") ?? parts[0]!;
  const text = parts.length === 1 && first.role === "user"
    ? first.text
    : parts.map((p) => `${p.role}: ${p.text}`).join("\n\n");
  return { text, title: titleOf(first.text) };
}

function titleOf(text: string): string {
  const line = text.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
  return (line || "Task").slice(0, 200);
}

/** How a wait ended. */
type Outcome =
  | { kind: "artifact"; version: number; content: string; message_id: string }
  | { kind: "ended"; state: TaskState; reason: string | null; latest: Artifact | null }
  | { kind: "refused"; code: string; message: string }
  | { kind: "timeout" }
  | { kind: "aborted" };
type Artifact = Pick<ArtifactView, "version" | "content" | "message_id">;

/** Reads the task's state: an outcome once there is one, else null. */
function check(d: Daemon, taskId: string, requestId: string, baseline: number): Outcome | null {
  const detail = taskDetail(d, taskId);
  const arts = detail.artifacts;
  const next = arts.find((a) => a.version > baseline);
  if (next) {
    return {
      kind: "artifact",
      version: next.version,
      content: next.content,
      message_id: next.message_id,
    };
  }
  const state = detail.task.state;
  if (isTerminal(state)) {
    const last = detail.events.at(-1)?.data as { reason?: string; note?: string } | undefined;
    return {
      kind: "ended",
      state,
      reason: last?.reason ?? last?.note ?? null,
      latest: arts.at(-1) ?? null,
    };
  }
  const sent = d.store.messages.outbound(requestId);
  if (sent?.state === "failed") {
    return {
      kind: "refused",
      code: sent.state_code ?? "unavailable",
      message: sent.state_reason ?? "the relay refused",
    };
  }
  return null;
}

/** Waits for the first artifact after `baseline`, an end state, a refusal, timeout or abort. */
function awaitOutcome(
  d: Daemon,
  taskId: string,
  requestId: string,
  baseline: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const finish = (o: Outcome) => {
      clearTimeout(timer);
      clearInterval(poll);
      unsubscribe();
      signal.removeEventListener("abort", onAbort);
      resolve(o);
    };
    const look = () => {
      try {
        const o = check(d, taskId, requestId, baseline);
        if (o) finish(o);
      } catch (err) {
        log.warn("checking a delegated task failed", { task: taskId, err });
      }
    };
    const onAbort = () => finish({ kind: "aborted" });
    const timer = setTimeout(() => finish({ kind: "timeout" }), timeoutMs);
    const poll = setInterval(look, 2_000); // a safety net; events wake us first
    const unsubscribe = d.events.subscribe((e: DaemonEvent) => {
      if (e.data.id === taskId || e.data.id === requestId || e.data.task_id === taskId) look();
    });
    signal.addEventListener("abort", onAbort);
    if (signal.aborted) onAbort();
    else look();
  });
}

/** What a call resolved to before waiting. */
interface Call {
  body: Body;
  agent: string;
  model: string;
  taskId: string;
  requestId: string;
  baseline: number;
  createdAt: number;
  timeoutMs: number;
  keepOpen: boolean;
}

function metaValue(body: Body, key: string): string | undefined {
  const v = body.metadata?.[key];
  return v === undefined ? undefined : String(v);
}

/** Validates the call and creates the task (or the revision request of a follow-up). */
async function start(d: Daemon, c: Context): Promise<Call> {
  const body = await readJson(c, Body);
  const headerAgent = c.req.header("x-taskferry-agent");
  const given = headerAgent || metaValue(body, "agent");
  if (given !== undefined && !HandleSchema.safeParse(given).success) {
    throw invalid("the acting agent must be a handle like @alice/requester", "metadata.agent");
  }
  let agent: string;
  try {
    agent = d.keyring.acting(given);
  } catch (err) {
    const e = toOpenAI(err);
    throw invalid(
      `${e.message} (X-TaskFerry-Agent header or metadata.agent)`,
      "metadata.agent",
      e.code ?? undefined,
    );
  }
  if (
    !HandleSchema.safeParse(body.model).success ||
    !d.store.connections.isConnected(agent, body.model)
  ) {
    throw new OpenAIError(
      404,
      "invalid_request_error",
      "model_not_found",
      `The model \`${body.model}\` does not exist or ${agent} has no connection to it: use the ` +
        "handle of a connected agent, like @bob/writer (GET /v1/models lists them).",
      "model",
    );
  }
  const rawTimeout = metaValue(body, "timeout_seconds");
  const timeout = rawTimeout === undefined ? RESPONSES_TIMEOUT.default : Number(rawTimeout);
  if (
    !Number.isInteger(timeout) || timeout < RESPONSES_TIMEOUT.min || timeout > RESPONSES_TIMEOUT.max
  ) {
    throw invalid(
      `metadata.timeout_seconds must be a whole number from ${RESPONSES_TIMEOUT.min} to ${RESPONSES_TIMEOUT.max}`,
      "metadata.timeout_seconds",
    );
  }
  const { text, title } = inputText(body.input);
  const base = {
    body,
    agent,
    model: body.model,
    createdAt: Math.floor(Date.now() / 1000),
    timeoutMs: timeout * 1000,
    keepOpen: metaValue(body, "keep_open") === "true",
  };
  if (body.previous_response_id) {
    const taskId = body.previous_response_id.replace(/^resp_/, "");
    const detail = taskDetail(d, taskId);
    const t = detail.task;
    if (t.requester !== agent || t.worker !== body.model) {
      throw invalid(
        `${body.previous_response_id} is not ${agent}'s task for ${body.model}`,
        "previous_response_id",
      );
    }
    if (t.state !== "submitted") {
      throw invalid(
        `task ${taskId} is ${t.state}: a follow-up needs a submitted task (send the first call with metadata.keep_open = "true")`,
        "previous_response_id",
      );
    }
    const sent = await taskAction(d, taskId, "revisions", { agent, feedback: text });
    return { ...base, taskId, requestId: sent.message.id, baseline: t.artifact_version };
  }
  const payload = {
    title,
    instructions: text,
    ...(body.instructions ? { inputs: { system: body.instructions } } : {}),
  };
  const parsed = PAYLOAD_SCHEMAS.task_request.safeParse(payload);
  if (!parsed.success) throw invalid("the input is too long for a task", "input");
  const created = await createTask(d, { from: agent, to: body.model, ...parsed.data });
  return { ...base, taskId: created.task.id, requestId: created.message.id, baseline: 0 };
}

const USAGE = {
  input_tokens: 0,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 0,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 0,
};

/** The Responses API object for a call in `status`, with `text` as the assistant's output. */
function responseObject(d: Daemon, call: Call, status: string, extra: {
  text?: { content: string; message_id: string } | undefined;
  error?: { code: string; message: string };
  incomplete?: string;
} = {}) {
  const task = taskDetail(d, call.taskId).task;
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(call.body.metadata ?? {})) metadata[k] = String(v);
  Object.assign(metadata, {
    task_id: call.taskId,
    agent: call.agent,
    task_state: String(task.state),
    artifact_version: String(task.artifact_version),
  });
  return {
    id: `resp_${call.taskId}`,
    object: "response",
    created_at: call.createdAt,
    status,
    error: extra.error ?? null,
    incomplete_details: extra.incomplete ? { reason: extra.incomplete } : null,
    instructions: call.body.instructions ?? null,
    model: call.model,
    output: extra.text ? [outputItem(extra.text, "completed")] : [],
    parallel_tool_calls: false,
    previous_response_id: call.body.previous_response_id ?? null,
    tool_choice: "none",
    tools: [],
    usage: USAGE,
    metadata,
  };
}

function outputItem(text: { content: string; message_id: string }, status: string) {
  return {
    type: "message",
    id: text.message_id,
    status,
    role: "assistant",
    content: status === "in_progress" ? [] : [outputPart(text.content)],
  };
}

const outputPart = (text: string) => ({ type: "output_text", text, annotations: [] });

/** Turns an outcome into the final response (or throws the HTTP error for it). */
async function finalize(d: Daemon, call: Call, o: Outcome) {
  switch (o.kind) {
    case "artifact":
      if (!call.keepOpen) {
        await taskAction(d, call.taskId, "complete", {
          agent: call.agent,
          artifact_version: o.version,
        })
          .catch((err) =>
            log.warn("could not complete a delegated task", { task: call.taskId, err })
          );
      }
      return responseObject(d, call, "completed", { text: o });
    case "ended":
      if (o.state === "completed") {
        return responseObject(d, call, "completed", { text: o.latest ?? undefined });
      }
      if (o.state === "expired") {
        return responseObject(d, call, "incomplete", { incomplete: "task_expired" });
      }
      return responseObject(d, call, "failed", {
        error: {
          code: `task_${o.state}`,
          message: o.reason ?? `${call.model} ${o.state} the task`,
        },
      });
    case "refused":
      throw toOpenAI(
        new TaskferryError((o.code in ERRORS ? o.code : "unavailable") as "unavailable", o.message),
      );
    case "timeout":
      throw new OpenAIError(
        504,
        "server_error",
        "timeout",
        `${call.model} did not answer within ${
          call.timeoutMs / 1000
        } s; task ${call.taskId} stays open ` +
          `(GET /v1/responses/resp_${call.taskId} reads it later)`,
      );
    case "aborted":
      throw new OpenAIError(499, "invalid_request_error", "cancelled", "the client went away");
  }
}

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
        KEEPALIVE_MS,
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
