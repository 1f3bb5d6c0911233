/** The Responses API object of a call, and the final answer an outcome turns into. */
import { ERRORS, TaskferryError } from "../../protocol/mod.ts";
import { logger } from "../../log.ts";
import type { Daemon } from "../daemon.ts";
import { taskAction, taskDetail } from "../tasks/mod.ts";
import type { Call } from "./call.ts";
import { OpenAIError, toOpenAI } from "./errors.ts";
import type { Outcome } from "./outcome.ts";

const log = logger("openai");

const USAGE = {
  input_tokens: 0,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 0,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 0,
};

/** The Responses API object for a call in `status`, with `text` as the assistant's output. */
export function responseObject(d: Daemon, call: Call, status: string, extra: {
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
  // The worker's machine-readable reason for giving up (task_fail `code`), when it gave one.
  if (task.failure?.code) metadata.failure_code = task.failure.code;
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

export function outputItem(text: { content: string; message_id: string }, status: string) {
  return {
    type: "message",
    id: text.message_id,
    status,
    role: "assistant",
    content: status === "in_progress" ? [] : [outputPart(text.content)],
  };
}

export const outputPart = (text: string) => ({ type: "output_text", text, annotations: [] });

/** Turns an outcome into the final response (or throws the HTTP error for it). */
export async function finalize(d: Daemon, call: Call, o: Outcome) {
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
