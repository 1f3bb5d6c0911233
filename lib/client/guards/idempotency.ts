/**
 * Guard: `Idempotency-Key` on every state-changing `/v1` route (POST, PUT, PATCH, DELETE), so a
 * client that retries after a timeout never creates a task or sends a message twice (issue 17,
 * design §13). One rule for every route, no per-route code:
 *
 * - the key is 1–255 visible ASCII characters, else `validation_failed`;
 * - keys are scoped per principal: the owner (token or dashboard session) has one space, each
 *   local agent another (all tokens of one agent share it, so a rotated token still replays);
 * - the first answer (status + body) is stored 24 h; the same key with the same request (method,
 *   path, body) replays it with `Idempotent-Replayed: true`, doing nothing again; the same key
 *   with another request is `idempotency_conflict`;
 * - concurrent duplicates wait for the first to finish and replay its answer (an in-flight map
 *   per daemon, then the stored row), so N copies sent at once have one effect;
 * - server errors (5xx) and `rate_limited` are replayed to the duplicates that waited for them
 *   but not stored, so a later retry runs again;
 * - a streamed answer (`text/event-stream`, e.g. `POST /v1/responses` with `stream: true`) is
 *   not stored: its key only prevents a second start — a repeat answers
 *   `idempotency_in_progress` and the caller reads the result by id;
 * - answers older than 24 h (the daemon's clock) are ignored and swept;
 * - a body that is not JSON (a streamed file upload) is passed through without a key check.
 */
import { createHash } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { fail } from "../../protocol/mod.ts";
import { DEFAULT_BODY_LIMIT, readAndKeep } from "../../http/mod.ts";
import type { Daemon } from "../daemon.ts";
import type { IdempotencyRow } from "../store/mod.ts";
import type { Principal } from "./principal.ts";

/** How long a first answer is kept and replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** The header a replayed answer carries. */
export const REPLAYED_HEADER = "Idempotent-Replayed";

const METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const KEY = /^[\x21-\x7e]{1,255}$/;
/** Expired keys are swept at most this often (the daemon's clock). */
const SWEEP_EVERY_MS = 60_000;

/** A first answer, as replayed. */
type Answer =
  | { streamed: false; status: number; contentType: string | null; body: string }
  | { streamed: true };

/**
 * The idempotency guard, after the bearer guard (it reads `principal`).
 *
 * @example
 * ```ts
 * app.use("/v1/*", idempotencyKeys(daemon));
 * ```
 */
export function idempotencyKeys(d: Daemon): MiddlewareHandler {
  const inflight = new Map<string, { fingerprint: string; done: Promise<Answer> }>();
  let lastSweep = -Infinity;
  // Stored in the outbox's group commit: with the sends of the same turn, one COMMIT (the
  // answers of one group commit finish together). Each answer still waits for its COMMIT, and
  // a failing row fails alone (its own savepoint).
  const put = (row: IdempotencyRow) => d.outbox.commitWith(() => d.store.idempotency.put(row));
  return async (c, next) => {
    if (!METHODS.has(c.req.method)) return await next();
    const key = c.req.header("idempotency-key");
    if (key === undefined) return await next();
    if (!KEY.test(key)) {
      throw fail(
        "validation_failed",
        "Idempotency-Key must be 1-255 visible ASCII characters (no spaces); a UUID will do",
      );
    }
    // A streamed upload (not JSON, e.g. a file) is left alone: buffering it to fingerprint it
    // would cap its size, and a repeated upload only leaves an unattached copy.
    const type = c.req.header("content-type") ?? "";
    if (c.req.raw.body !== null && !/^application\/json\b/i.test(type)) return await next();
    // The body is read here to fingerprint it, and kept for the route (readLimited, keptBody).
    const bytes = await readAndKeep(c.req.raw, DEFAULT_BODY_LIMIT);
    const url = new URL(c.req.url);
    const fingerprint = createHash("sha256")
      .update(`${c.req.method} ${url.pathname}${url.search}\n`).update(bytes).digest("hex");
    const scope = scopeOf(c.get("principal"));
    const id = `${scope}\n${key}`;

    const running = inflight.get(id);
    if (running) {
      if (running.fingerprint !== fingerprint) throw conflict();
      return replay(await running.done);
    }
    const now = d.now();
    if (now - lastSweep >= SWEEP_EVERY_MS) {
      d.store.idempotency.sweep(now - IDEMPOTENCY_TTL_MS);
      lastSweep = now;
    }
    const stored = d.store.idempotency.find(scope, key, now - IDEMPOTENCY_TTL_MS);
    if (stored) {
      if (stored.fingerprint !== fingerprint) throw conflict();
      return replay(
        stored.streamed ? { streamed: true } : {
          streamed: false,
          status: stored.status,
          contentType: stored.content_type,
          body: stored.body ?? "",
        },
      );
    }

    const first = Promise.withResolvers<Answer>();
    first.promise.catch(() => {}); // nobody may be waiting; the first request reports its error
    inflight.set(id, { fingerprint, done: first.promise });
    try {
      await next();
      const answer = await capture(c);
      if (answer.streamed || (answer.status < 500 && answer.status !== 429)) {
        await put({
          scope,
          key,
          fingerprint,
          streamed: answer.streamed,
          status: answer.streamed ? c.res.status : answer.status,
          content_type: answer.streamed ? null : answer.contentType,
          body: answer.streamed ? null : answer.body,
          created_at: now,
        });
      }
      first.resolve(answer);
    } catch (err) {
      first.reject(err);
      throw err;
    } finally {
      inflight.delete(id);
    }
  };
}

/** The key space of a principal. */
function scopeOf(p: Principal): string {
  return p.kind === "owner" ? "owner" : `agent:${p.handle}`;
}

/** The answer the route gave, read without consuming it (a stream is never read). */
async function capture(c: Context): Promise<Answer> {
  const type = c.res.headers.get("content-type");
  if (type !== null && /^text\/event-stream\b/i.test(type)) return { streamed: true };
  return {
    streamed: false,
    status: c.res.status,
    contentType: type,
    body: await c.res.clone().text(),
  };
}

/** The first answer again, marked as replayed. */
function replay(answer: Answer): Response {
  if (answer.streamed) {
    throw fail(
      "idempotency_in_progress",
      "the first request with this Idempotency-Key streamed its answer; a stream is not " +
        "replayed: read the result by id (GET /v1/responses/{id}, GET /v1/tasks/{id}) or send a new key",
    );
  }
  const headers = new Headers({ [REPLAYED_HEADER]: "true" });
  if (answer.contentType !== null) headers.set("content-type", answer.contentType);
  return new Response(answer.body, { status: answer.status, headers });
}

function conflict() {
  return fail(
    "idempotency_conflict",
    "this Idempotency-Key was already used with a different method, path or body; " +
      "send a new key for a new request",
  );
}
