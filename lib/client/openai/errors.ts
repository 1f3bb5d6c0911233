/** Errors in OpenAI's `{ "error": { message, type, param, code } }` shape. */
import type { Context } from "hono";
import { ERRORS, TaskferryError } from "../../protocol/mod.ts";
import { logger } from "../../log.ts";

const log = logger("openai");

/** An error in OpenAI's shape. */
export class OpenAIError extends Error {
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

export const invalid = (message: string, param: string | null = null, code = "invalid_value") =>
  new OpenAIError(400, "invalid_request_error", code, message, param);

const TYPE_BY_STATUS: Record<number, string> = {
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  429: "rate_limit_error",
};

/** Any thrown error as an OpenAI error (catalogue codes become `code`). */
export function toOpenAI(err: unknown): OpenAIError {
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

export function errorResponse(c: Context, err: unknown) {
  const e = toOpenAI(err);
  // The official clients retry 5xx (and 409) by default: a retry would create another task.
  c.header("x-should-retry", "false");
  return c.json(e.body(), e.status as 400);
}
