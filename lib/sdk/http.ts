/**
 * The SDK's transport: one JSON call to the daemon, with catalogue errors as `ApiError`. Every
 * state-changing call carries an `Idempotency-Key` (fresh per call unless the caller gives one)
 * and is retried with that same key when the connection fails, so a retry never acts twice
 * (docs/api.md, "Idempotency keys").
 */
import type { ErrorCode } from "../protocol/mod.ts";

/** An API error with its catalogue code. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: ErrorCode | string, message: string) {
    super(message);
    this.name = "ApiError";
  }
}

/** Query parameters (undefined ones are left out). */
export type Query = Record<string, string | number | undefined>;

/** Options of one call. */
export interface CallOptions {
  signal?: AbortSignal;
  /**
   * The `Idempotency-Key` of a state-changing call (POST, PUT, PATCH, DELETE). Default: a fresh
   * UUID per call, kept across its retries. Give one to make a call safe to repeat across runs.
   */
  idempotencyKey?: string;
}

/** Methods that change state: they carry a key and are retried on a failed connection. */
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** Tries of a state-changing call whose connection fails (the same key each time). */
export const CALL_TRIES = 3;
/** Pause before the n-th retry: n × this. */
const RETRY_PAUSE_MS = 100;

/**
 * One call: JSON in, JSON out, `ApiError` (with the daemon's catalogue code) on failure.
 *
 * @example
 * ```ts
 * const to = { url: "http://127.0.0.1:4318", token, fetch };
 * const health = await callDaemon<{ status: string }>(to, "GET", "/v1/health");
 * ```
 */
export async function callDaemon<T>(
  to: { url: string; token: string; fetch: typeof fetch },
  method: string,
  path: string,
  body?: unknown,
  query?: Query,
  options: CallOptions = {},
): Promise<T> {
  const qs = query
    ? new URLSearchParams(
      Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]),
    ).toString()
    : "";
  const changing = STATE_CHANGING.has(method);
  const headers: Record<string, string> = { authorization: `Bearer ${to.token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (changing) headers["idempotency-key"] = options.idempotencyKey ?? crypto.randomUUID();
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  if (options.signal) init.signal = options.signal;
  let res: Response | undefined;
  let text = "";
  for (let attempt = 1; res === undefined; attempt++) {
    try {
      const answer = await to.fetch(`${to.url}${path}${qs ? "?" + qs : ""}`, init);
      // The body is part of the answer: a daemon that stops mid-body is unreachable too.
      text = await answer.text();
      res = answer;
    } catch (err) {
      // Only a keyed call may be sent again: the daemon replays the first answer if the lost
      // attempt did arrive. A call the caller aborted stays aborted.
      if (!changing || attempt >= CALL_TRIES || options.signal?.aborted) {
        throw new ApiError(
          0,
          "unavailable",
          `cannot reach the daemon at ${to.url}: ${(err as Error).message}`,
        );
      }
      await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS * attempt));
    }
  }
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(res.status, "internal", `daemon answered non-JSON (${res.status})`);
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } }).error;
    throw new ApiError(res.status, e?.code ?? "internal", e?.message ?? `HTTP ${res.status}`);
  }
  return json as T;
}

/**
 * A streaming call (files): the raw response when it is 2xx, else `ApiError` from the error
 * body. The body goes as given (a file's bytes), not as JSON.
 */
export async function fetchDaemon(
  to: { url: string; token: string; fetch: typeof fetch },
  method: string,
  path: string,
  body?: BodyInit,
  headers: Record<string, string> = {},
): Promise<Response> {
  let res: Response;
  try {
    res = await to.fetch(to.url + path, {
      method,
      headers: { authorization: `Bearer ${to.token}`, ...headers },
      ...(body !== undefined ? { body } : {}),
    });
  } catch (err) {
    throw new ApiError(0, "unavailable", `cannot reach the daemon at ${to.url}: ${err}`);
  }
  if (res.ok) return res;
  const e = await res.json().catch(() => null) as
    | { error?: { code?: string; message?: string } }
    | null;
  throw new ApiError(
    res.status,
    e?.error?.code ?? "internal",
    e?.error?.message ?? `the daemon answered ${res.status}`,
  );
}
