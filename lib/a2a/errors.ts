/**
 * Daemon refusals (catalogue codes, `lib/protocol/errors.ts`) as A2A errors, so the official
 * JSON-RPC transport answers them with A2A codes (-32001 task not found, -32002 not cancelable,
 * -32004 unsupported operation, -32602 malformed, …). The catalogue code travels along in the
 * error info's metadata (`taskferry_code`) so a client can still branch on it.
 */
import {
  A2AError,
  RequestMalformedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnsupportedOperationError,
} from "@a2a-js/sdk/errors";
import { ApiError } from "../sdk/mod.ts";

/** The caller's token was refused by the daemon: answered as HTTP 401, not as JSON-RPC. */
export class Unauthorized extends Error {
  constructor(message = "missing or invalid bearer token: send the TaskFerry local API token") {
    super(message.startsWith("unauthorized") ? message : `unauthorized: ${message}`);
    this.name = "Unauthorized";
  }
}

const MALFORMED = new Set([
  "bad_request",
  "invalid_json",
  "validation_failed",
  "body_too_large",
  "invalid_handle",
]);

/** Any error from the loopback API (or ours) as the A2A error to answer. */
export function toA2AError(err: unknown, opts: { cancel?: boolean } = {}): unknown {
  if (!(err instanceof ApiError)) return err;
  if (err.status === 401) return new Unauthorized(err.message);
  const metadata = { taskferry_code: String(err.code) };
  const options = { message: `${err.code}: ${err.message}`, metadata, cause: err };
  if (err.code === "task_not_found" || err.code === "not_found") {
    return new TaskNotFoundError(options);
  }
  if (opts.cancel && err.code === "illegal_transition") return new TaskNotCancelableError(options);
  if (MALFORMED.has(String(err.code))) return new RequestMalformedError(options);
  if (err.status >= 400 && err.status < 500) return new UnsupportedOperationError(options);
  return new A2AError(options);
}

/** Runs `fn`, rethrowing daemon refusals as A2A errors. */
export async function mapped<T>(fn: () => Promise<T>, opts: { cancel?: boolean } = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toA2AError(err, opts);
  }
}
