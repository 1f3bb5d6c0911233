/** A Responses API call: its body, its input as task text, and the task it starts. */
import type { Context } from "hono";
import { z } from "zod";
import { HandleSchema, PAYLOAD_SCHEMAS } from "../../protocol/mod.ts";
import { readJson } from "../../http/mod.ts";
import type { Daemon } from "../daemon.ts";
import { createTask, taskAction, taskDetail } from "../tasks/mod.ts";
import { invalid, OpenAIError, toOpenAI } from "./errors.ts";

/** Default and bounds of the wait for an answer, seconds. */
export const RESPONSES_TIMEOUT = { default: 120, min: 1, max: 900 } as const;

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
export type Body = z.infer<typeof Body>;

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

/** What a call resolved to before waiting. */
export interface Call {
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
export async function start(d: Daemon, c: Context): Promise<Call> {
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
