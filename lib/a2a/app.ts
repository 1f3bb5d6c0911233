/**
 * The A2A edge of the daemon (design §15): every connected remote agent served as an A2A server
 * on the loopback. A Hono sub-app the daemon mounts; it is a translator over the daemon's own
 * loopback API, which it reaches through `options.fetch` with the caller's bearer token (so
 * the daemon alone decides what that token may see and do).
 *
 * - `GET  /a2a/{owner}/{name}/.well-known/agent-card.json` — the peer's agent card
 * - `POST /a2a/{owner}/{name}` — A2A JSON-RPC: 1.0 (`SendMessage`, `SendStreamingMessage`,
 *   `GetTask`, `CancelTask`, `SubscribeToTask`, `ListTasks`) and the same calls under their 0.3
 *   names (`message/send`, `message/stream`, `tasks/get`, `tasks/cancel`, `tasks/resubscribe`)
 *
 * The official SDK's JSON-RPC transport handlers do the protocol; only the HTTP plumbing its
 * Express adapter would do is here, since the daemon runs Hono on Deno, not Express.
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { A2A_VERSION_HEADER, AgentCard, formatSSEErrorEvent, formatSSEEvent } from "@a2a-js/sdk";
import { JsonRpcTransportHandler, ServerCallContext, validateVersion } from "@a2a-js/sdk/server";
import { LegacyJsonRpcTransportHandler } from "@a2a-js/sdk/compat/v0_3/server";
import { isLegacyJsonRpcMethod } from "@a2a-js/sdk/compat/v0_3";
import { A2A_ERROR_CODE, VersionNotSupportedError } from "@a2a-js/sdk/errors";
import { HandleSchema, parseBearer } from "../protocol/mod.ts";
import { agentCard, type PeerProfile } from "./card.ts";
import { toA2AError, Unauthorized } from "./errors.ts";
import { TaskferryRequestHandler } from "./handler.ts";
import { type Fetcher, Loopback } from "./loopback.ts";

/** How the sub-app reaches the daemon and names itself. */
export interface A2AOptions {
  /** Answers loopback API requests: the daemon app's `app.fetch`, or `fetch`. */
  fetch: Fetcher;
  /** The base URL requests to `fetch` use (default `http://127.0.0.1`, a loopback Host). */
  daemonUrl?: string;
  /**
   * The base URL for the URLs in agent cards (`http://127.0.0.1:4318`). Default: the origin the
   * request came to, which the daemon's Host check has already limited to loopback names.
   */
  publicUrl?: string;
  /** How long a blocking `SendMessage` waits for an artifact or an end (default 120 s). */
  waitMs?: number;
}

/** Default wait of a blocking `SendMessage`, the same as `/v1/responses` (ms). */
export const A2A_DEFAULT_WAIT_MS = 120_000;
/** JSON-RPC bodies above this are refused, like every loopback body. */
const MAX_BODY = 1024 * 1024;
const KEEPALIVE_MS = 15_000;

type Rpc = { jsonrpc: "2.0"; id: string | number | null; error: { code: number; message: string } };
const rpcError = (code: number, message: string, id: Rpc["id"] = null): Rpc => ({
  jsonrpc: "2.0",
  id,
  error: { code, message },
});

/** What a request resolved to: the caller's view of the daemon and the peer it addresses. */
interface Resolved {
  loopback: Loopback;
  peer: string;
  agent: string;
  profile: PeerProfile;
  url: string;
}

/** Finds the local agent connected to the peer (a header picks one when several are). */
async function resolve(
  opts: A2AOptions,
  origin: string,
  token: string,
  owner: string,
  name: string,
  chosen: string | undefined,
): Promise<Resolved | { status: 400 | 404; message: string }> {
  const peer = `@${owner}/${name}`;
  if (!HandleSchema.safeParse(peer).success) {
    return { status: 404, message: `invalid_handle: ${peer} is not a handle like @owner/name` };
  }
  const loopback = new Loopback(opts.fetch, opts.daemonUrl ?? "http://127.0.0.1", token);
  let conns;
  try {
    conns = await loopback.api.connections();
  } catch (err) {
    throw toA2AError(err);
  }
  const mine = conns.filter((c) =>
    c.peer === peer && c.state === "connected" && (!chosen || c.agent === chosen)
  );
  if (mine.length === 0) {
    return { status: 404, message: `not_connected: no local agent is connected to ${peer}` };
  }
  if (mine.length > 1) {
    return {
      status: 400,
      message: `validation_failed: several local agents are connected to ${peer}; ` +
        `name the acting one in the X-TaskFerry-Agent header`,
    };
  }
  const conn = mine[0]! as typeof mine[number] & { peer_profile?: PeerProfile | null };
  const url = `${(opts.publicUrl ?? origin).replace(/\/+$/, "")}/a2a/${owner}/${name}`;
  return { loopback, peer, agent: conn.agent, profile: conn.peer_profile ?? {}, url };
}

const unauthorized = (message: string) =>
  new Response(JSON.stringify(rpcError(-32600, new Unauthorized(message).message)), {
    status: 401,
    headers: { "content-type": "application/json", "www-authenticate": "Bearer" },
  });

/**
 * An SSE response from JSON-RPC stream items; a failure mid-stream becomes an error event
 * (`errorOf`), and `abort` fires when the client goes away.
 */
function sse(
  first: unknown,
  rest: AsyncIterator<unknown>,
  errorOf: (err: unknown) => unknown,
  abort: AbortController,
) {
  const enc = new TextEncoder();
  let keepalive: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(ctl) {
      ctl.enqueue(enc.encode(formatSSEEvent(first)));
      keepalive = setInterval(() => ctl.enqueue(enc.encode(": keepalive\n\n")), KEEPALIVE_MS);
    },
    async pull(ctl) {
      try {
        const next = await rest.next();
        if (next.done) {
          clearInterval(keepalive);
          ctl.close();
        } else ctl.enqueue(enc.encode(formatSSEEvent(next.value)));
      } catch (err) {
        clearInterval(keepalive);
        ctl.enqueue(enc.encode(formatSSEErrorEvent(errorOf(toA2AError(err)))));
        ctl.close();
      }
    },
    async cancel() {
      clearInterval(keepalive);
      abort.abort();
      await rest.return?.(undefined);
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    },
  });
}

/**
 * The A2A sub-app. Mount it on the daemon's app (`app.route("/", a2aApp({...}))`) after the
 * loopback defences (Host check, no token in URLs), which apply to it like to any route.
 */
export function a2aApp(opts: A2AOptions): Hono {
  const app = new Hono();
  app.use(
    "/a2a/*",
    bodyLimit({
      maxSize: MAX_BODY,
      onError: (c) =>
        c.json(rpcError(A2A_ERROR_CODE.INVALID_REQUEST, "body_too_large: over 1 MiB"), 413),
    }),
  );

  app.get("/a2a/:owner/:name/.well-known/agent-card.json", async (c) => {
    const token = parseBearer(c.req.header("authorization"));
    if (!token) return unauthorized("send the TaskFerry token as Authorization: Bearer");
    try {
      const r = await resolve(
        opts,
        new URL(c.req.url).origin,
        token,
        c.req.param("owner"),
        c.req.param("name"),
        c.req.header("x-taskferry-agent"),
      );
      if ("status" in r) {
        const [code, message] = r.message.split(": ", 2) as [string, string];
        return c.json({ error: { code, message } }, r.status);
      }
      c.header("cache-control", "no-store");
      return c.json(AgentCard.toJSON(agentCard(r.peer, r.profile, r.url)) as object);
    } catch (err) {
      if (err instanceof Unauthorized) return unauthorized(err.message);
      throw err;
    }
  });

  const rpcRoute = async (c: Context) => {
    const token = parseBearer(c.req.header("authorization"));
    if (!token) return unauthorized("send the TaskFerry token as Authorization: Bearer");
    const text = await c.req.text();
    let body: Record<string, unknown>;
    try {
      const parsed = JSON.parse(text);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw 0;
      body = parsed;
    } catch {
      return c.json(rpcError(A2A_ERROR_CODE.PARSE_ERROR, "invalid_json: send one JSON-RPC object"));
    }
    const id = (typeof body.id === "string" || typeof body.id === "number") ? body.id : null;
    const legacy = isLegacyJsonRpcMethod(body.method);
    const toRpc = legacy
      ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError
      : JsonRpcTransportHandler.mapToJSONRPCError;
    const abort = new AbortController();
    try {
      const r = await resolve(
        opts,
        new URL(c.req.url).origin,
        token,
        c.req.param("owner") ?? "",
        c.req.param("name") ?? "",
        c.req.header("x-taskferry-agent"),
      );
      if ("status" in r) {
        return c.json(rpcError(A2A_ERROR_CODE.INVALID_REQUEST, r.message, id), r.status);
      }
      const card = agentCard(r.peer, r.profile, r.url);
      const version = c.req.header(A2A_VERSION_HEADER) || (legacy ? "0.3" : "1.0");
      validateVersion(version, card, "JSONRPC");
      if (legacy !== (version === "0.3")) {
        throw new VersionNotSupportedError(
          `method ${String(body.method)} does not belong to A2A ${version}`,
        );
      }
      const handler = new TaskferryRequestHandler({
        peer: r.peer,
        agent: r.agent,
        loopback: r.loopback,
        card,
        waitMs: opts.waitMs ?? A2A_DEFAULT_WAIT_MS,
        signal: abort.signal,
      });
      const transport = legacy
        ? new LegacyJsonRpcTransportHandler(handler)
        : new JsonRpcTransportHandler(handler);
      const context = new ServerCallContext({ requestedVersion: version });
      const out = await transport.handle(body, context);
      if (!(Symbol.asyncIterator in (out as object))) {
        const res = out as { error?: { message?: string } };
        if (res.error?.message?.startsWith("unauthorized")) return unauthorized(res.error.message);
        return c.json(out as object);
      }
      // Stream: pull the first item before answering, so an early refusal is plain JSON.
      const it = (out as AsyncGenerator<unknown>)[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done) return c.json(rpcError(A2A_ERROR_CODE.INTERNAL_ERROR, "empty stream", id));
      const item = first.value as { error?: unknown };
      if (item.error) return c.json(item as object);
      return sse(first.value, it, (err) => ({ jsonrpc: "2.0", id, error: toRpc(err) }), abort);
    } catch (err) {
      const e = toA2AError(err);
      if (e instanceof Unauthorized) return unauthorized(e.message);
      return c.json({ jsonrpc: "2.0", id, error: toRpc(e) });
    }
  };
  // With and without the final slash: clients resolve the card relative to `…/name/`.
  app.post("/a2a/:owner/:name", rpcRoute);
  app.post("/a2a/:owner/:name/", rpcRoute);

  return app;
}
