/** JSON request/response helpers shared by the relay and the daemon's loopback API. */
import type { Context } from "hono";
import type { z } from "zod";
import {
  describeIssues,
  fail,
  MAX_JSON_DEPTH,
  parseJsonBounded,
  TaskferryError,
} from "../protocol/mod.ts";
import type { Logger } from "../log.ts";

/** Default request body limit. */
export const DEFAULT_BODY_LIMIT = 1_048_576;

/**
 * Reads the body as JSON and validates it: 415 when not JSON, 413 when larger than `limit`
 * bytes, `payload_too_deep` when nested deeper than `maxDepth` (checked before parsing),
 * `invalid_json` when unparsable, `validation_failed` with a readable path list.
 */
export async function readJson<S extends z.ZodType>(
  c: Context,
  schema: S,
  limit = DEFAULT_BODY_LIMIT,
  maxDepth = MAX_JSON_DEPTH,
): Promise<z.infer<S>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) throw fail("unsupported_media_type");
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > limit) throw fail("body_too_large", `the body limit is ${limit} bytes`);
  const bytes = await readLimited(c.req.raw, limit);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw fail("invalid_json", "the body is not UTF-8");
  }
  const value = parseJsonBounded(text, { maxBytes: limit, maxDepth });
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw fail(
      "validation_failed",
      describeIssues(parsed.error),
      parsed.error.issues.map((i) => ({
        path: i.path.join("."),
        message: i.message,
      })),
    );
  }
  return parsed.data;
}

/** Bodies already read by a guard, by request: a handler reads them again from here. */
const kept = new WeakMap<Request, Uint8Array>();

/**
 * Reads a request body once for a guard (which fingerprints it) and keeps it for the handler,
 * whose {@link readLimited} or {@link keptBody} returns the same bytes. Cheaper than the new
 * `Request` around the bytes that the guard used to make for each call (issue 21).
 */
export async function readAndKeep(req: Request, limit: number): Promise<Uint8Array> {
  const bytes = await readLimited(req, limit);
  if (req.body !== null) kept.set(req, bytes);
  return bytes;
}

/** The body a guard read with {@link readAndKeep}, if one did. */
export function keptBody(req: Request): Uint8Array | undefined {
  return kept.get(req);
}

/** Reads a request body, refusing it once it passes `limit` bytes. */
export async function readLimited(req: Request, limit: number): Promise<Uint8Array> {
  const before = kept.get(req);
  if (before !== undefined) {
    if (before.length > limit) throw fail("body_too_large", `the body limit is ${limit} bytes`);
    return before;
  }
  if (!req.body) return new Uint8Array();
  // A declared length within the limit bounds the body (the HTTP server frames it by that
  // length): read at once, which costs less than iterating the stream (issue 21).
  const declared = req.headers.get("content-length");
  if (declared !== null && /^\d{1,15}$/.test(declared) && Number(declared) <= limit) {
    const whole = new Uint8Array(await req.arrayBuffer());
    if (whole.length > limit) throw fail("body_too_large", `the body limit is ${limit} bytes`);
    return whole;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    if (size > limit) throw fail("body_too_large", `the body limit is ${limit} bytes`);
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The single place that turns thrown errors into JSON responses. */
export function errorHandler(log: Logger) {
  return (err: Error, c: Context) => {
    if (err instanceof TaskferryError) {
      return c.json(err.toBody(), err.status as 400);
    }
    log.error("unhandled error", { err, stack: err.stack, path: c.req.path });
    return c.json(fail("internal").toBody(), 500);
  };
}

/** 404 in the catalogue shape. */
export function notFoundHandler(c: Context) {
  return c.json(fail("not_found", `no route ${c.req.method} ${c.req.path}`).toBody(), 404);
}
