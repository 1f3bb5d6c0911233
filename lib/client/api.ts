/**
 * The loopback API v1 (design §8): JSON in snake_case, errors from the catalogue, bearer
 * token on every route, loopback `Host` only, no CORS.
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import {
  ConversationIdSchema,
  fail,
  HandleSchema,
  MessageIdSchema,
  PAYLOAD_SCHEMAS,
  PermissionsPatchSchema,
  TASK_STATES,
  VERSION,
} from "../protocol/mod.ts";
import { errorHandler, notFoundHandler, readJson } from "../http/mod.ts";
import { logger } from "../log.ts";
import { timingSafeEqual } from "../protocol/mod.ts";
import {
  answerConnection,
  createInvite,
  listConnections,
  openInvite,
  requestConnection,
  updatePermissions,
} from "./connections.ts";
import { listConversations, listMessages } from "./conversations.ts";
import type { Daemon } from "./daemon.ts";
import { ackMessage, getMessage, inboxHead, inboxItems, sendMessage } from "./messages.ts";
import { listQuarantine, releaseQuarantine } from "./quarantine.ts";
import { mountOpenAI } from "./openai.ts";
import {
  createTask,
  decideGate,
  listTasks,
  TASK_ACTIONS,
  taskAction,
  type TaskActionName,
  taskDetail,
} from "./tasks.ts";
import { all, get } from "../store/mod.ts";
import { sessionsOf } from "./sessions.ts";

const log = logger("api");

const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/i;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const MAX_WAIT_SECONDS = 300;

const AgentBody = z.strictObject({
  handle: HandleSchema,
  display_name: z.string().max(100).optional(),
  description: z.string().max(2000).optional(),
  capabilities: z.array(z.string().max(64)).max(50).optional(),
  public: z.boolean().optional(),
});
const Recipients = z.union([HandleSchema, z.array(HandleSchema).min(1).max(32)]);
const MessageBody = z.strictObject({
  from: HandleSchema,
  to: Recipients,
  text: z.string().max(1_000_000).optional(),
  data: z.unknown().optional(),
  conversation_id: ConversationIdSchema.optional(),
  reply_to: MessageIdSchema.optional(),
}).refine((m) => m.text !== undefined || m.data !== undefined, "give text or data");
const ConnectBody = z.strictObject({
  from: HandleSchema,
  to: HandleSchema.optional(),
  invite: z.string().min(8).max(512).optional(),
  note: z.string().max(2000).optional(),
  permissions: PermissionsPatchSchema.optional(),
}).refine((c) => c.to !== undefined || c.invite !== undefined, "give to or invite");
const AnswerBody = z.strictObject({
  agent: HandleSchema.optional(),
  permissions: PermissionsPatchSchema.optional(),
  reason: z.string().max(2000).optional(),
});
const PermissionsBody = z.strictObject({
  agent: HandleSchema,
  permissions: PermissionsPatchSchema,
});
const TaskBody = PAYLOAD_SCHEMAS.task_request.extend({ from: HandleSchema, to: HandleSchema });
const Agent = { agent: HandleSchema.optional() };
const ACTION_BODIES: Record<TaskActionName, z.ZodType> = {
  accept: PAYLOAD_SCHEMAS.task_accept.extend(Agent),
  decline: PAYLOAD_SCHEMAS.task_decline.extend(Agent),
  artifacts: PAYLOAD_SCHEMAS.artifact_submit.omit({ version: true }).extend(Agent),
  revisions: PAYLOAD_SCHEMAS.revision_request.partial({ artifact_version: true }).extend(Agent),
  complete: PAYLOAD_SCHEMAS.task_complete.extend(Agent),
  cancel: PAYLOAD_SCHEMAS.task_cancel.extend(Agent),
  progress: PAYLOAD_SCHEMAS.task_progress.extend(Agent),
  fail: PAYLOAD_SCHEMAS.task_fail.extend(Agent),
};
const AckBody = z.strictObject({
  agent: HandleSchema.optional(),
  state: z.enum(["read", "processed"]),
});
const GateBody = z.strictObject({ reason: z.string().max(2000).optional() });
const InviteBody = z.strictObject({ agent: HandleSchema });
const OpenInviteBody = z.strictObject({ invite: z.string().min(8).max(512) });
const Empty = z.strictObject({});

function intParam(value: string | undefined, name: string, min: number, max: number, dflt: number) {
  if (value === undefined || value === "") return dflt;
  if (!/^\d+$/.test(value)) throw fail("validation_failed", `${name} must be a whole number`);
  const n = Number(value);
  if (n < min || n > max) {
    throw fail("validation_failed", `${name} must be between ${min} and ${max}`);
  }
  return n;
}

function handleParam(owner: string, name: string): string {
  const handle = `${owner}/${name}`;
  if (!HandleSchema.safeParse(handle).success) throw fail("invalid_handle");
  return handle;
}

/** Builds the loopback API around `d`. `extra` mounts more routes (the dashboard). */
export function daemonApp(d: Daemon, extra?: (app: Hono) => void): Hono {
  const app = new Hono();
  app.onError(errorHandler(log));
  app.notFound(notFoundHandler);

  app.use("*", async (c, next) => {
    // DNS rebinding: only loopback names may address this server.
    const host = c.req.header("host") ?? "";
    if (!LOOPBACK_HOST.test(host)) throw fail("bad_host");
    // A page on another site must not drive the API through the owner's browser. The one
    // exception is following a plain link to the dashboard page itself (a relay's invite page
    // links to `/#/invites?open=…`): that page is static and carries no data or secret.
    if (c.req.header("sec-fetch-site") === "cross-site" && !isDashboardNavigation(c.req)) {
      throw fail("forbidden", "cross-site request");
    }
    const q = new URL(c.req.url).searchParams;
    if (q.has("token") || q.has("access_token")) {
      throw fail("bad_request", "never put a token in a URL");
    }
    await next();
  });

  extra?.(app);

  // Agents authenticate with the bearer token; the dashboard with its session cookie, and then
  // every state change must also carry the session's CSRF token and come from this origin.
  app.use("/v1/*", async (c, next) => {
    const authorization = c.req.header("authorization");
    const session = authorization === undefined
      ? sessionsOf(d).fromCookie(c.req.header("cookie"))
      : null;
    if (session) {
      if (!SAFE_METHODS.has(c.req.method)) {
        if (!sessionsOf(d).checkCsrf(session, c.req.header("x-csrf-token"))) {
          throw fail("forbidden", "send the dashboard session's X-CSRF-Token header");
        }
        const origin = c.req.header("origin");
        if (origin !== undefined && origin !== `http://${c.req.header("host")}`) {
          throw fail("forbidden", "cross-origin request");
        }
      }
      return await next();
    }
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (!m || !timingSafeEqual(m[1]!, d.config.localApiToken)) {
      throw fail(
        "unauthorized",
        "send Authorization: Bearer <local API token> (see $TASKFERRY_HOME/local-token)",
      );
    }
    await next();
  });
  mountOpenAI(app, d); // POST /v1/responses, GET /v1/responses/:id, GET /v1/models

  app.get("/v1/health", (c) =>
    c.json({
      status: "ok",
      version: VERSION,
      client_id: d.config.clientId,
      device_id: d.config.deviceId,
      relay: {
        configured: d.link !== null,
        url: d.relay?.baseUrl ?? null,
        connected: d.link?.connected ?? false,
        error: d.link?.lastError ?? null,
      },
      counts: {
        agents: count(d, "SELECT count(*) AS n FROM agents"),
        connections: count(d, "SELECT count(*) AS n FROM connections WHERE state = 'connected'"),
        pending_connections: count(
          d,
          "SELECT count(*) AS n FROM connections WHERE state = 'pending_in'",
        ),
        open_tasks: count(
          d,
          "SELECT count(*) AS n FROM tasks WHERE state NOT IN ('completed', 'declined', 'cancelled', 'expired')",
        ),
        outbox_pending: count(d, "SELECT count(*) AS n FROM outbox WHERE state = 'pending'"),
        quarantined: count(d, "SELECT count(*) AS n FROM quarantine WHERE resolution IS NULL"),
        gated_tasks: count(d, "SELECT count(*) AS n FROM tasks WHERE gate = 'pending'"),
      },
    }));

  app.post("/v1/agents", async (c) => {
    const body = await readJson(c, AgentBody);
    return c.json({ agent: await d.createAgent(body) }, 201);
  });
  app.get("/v1/agents", (c) => c.json({ agents: d.listAgents() }));

  app.post("/v1/invites", async (c) => {
    const body = await readJson(c, InviteBody);
    return c.json({ invite: await createInvite(d, body.agent) }, 201);
  });
  app.post("/v1/invites/open", async (c) => {
    const body = await readJson(c, OpenInviteBody);
    return c.json({ invite: await openInvite(d, body.invite) });
  });

  app.post("/v1/connections", async (c) => {
    const body = await readJson(c, ConnectBody);
    return c.json(await requestConnection(d, body), 202);
  });
  app.get(
    "/v1/connections",
    (c) => c.json({ connections: listConnections(d, c.req.query("agent")) }),
  );
  for (const verb of ["accept", "decline"] as const) {
    app.post(`/v1/connections/:owner/:name/${verb}`, async (c) => {
      const body = await readJson(c, AnswerBody);
      const peer = handleParam(c.req.param("owner"), c.req.param("name"));
      return c.json(await answerConnection(d, peer, { ...body, accept: verb === "accept" }), 202);
    });
  }
  app.patch("/v1/connections/:owner/:name", async (c) => {
    const body = await readJson(c, PermissionsBody);
    const peer = handleParam(c.req.param("owner"), c.req.param("name"));
    return c.json({ connection: await updatePermissions(d, peer, body.agent, body.permissions) });
  });

  app.post("/v1/messages", async (c) => {
    const body = await readJson(c, MessageBody);
    const to = typeof body.to === "string" ? [body.to] : body.to;
    return c.json(await sendMessage(d, { ...body, to }), 202);
  });
  // Read-only history views for the dashboard (docs/api.md, "Dashboard").
  app.get("/v1/messages", (c) =>
    c.json({
      messages: listMessages(d, {
        agent: c.req.query("agent"),
        peer: c.req.query("peer"),
        type: c.req.query("type"),
        limit: intParam(c.req.query("limit"), "limit", 1, 500, 100),
      }),
    }));
  app.get(
    "/v1/conversations",
    (c) => c.json({ conversations: listConversations(d, c.req.query("agent")) }),
  );
  app.get("/v1/messages/:id", (c) => c.json({ message: getMessage(d, c.req.param("id")) }));
  app.post("/v1/messages/:id/ack", async (c) => {
    const body = await readJson(c, AckBody);
    return c.json({ message: await ackMessage(d, c.req.param("id"), body) });
  });

  app.get("/v1/inbox", async (c) => {
    const agent = d.actingAgent(c.req.query("agent"));
    const type = c.req.query("type");
    if (type !== undefined && !(type in PAYLOAD_SCHEMAS)) {
      throw fail("validation_failed", `unknown type ${type}`);
    }
    const afterRaw = c.req.query("after");
    const after = afterRaw === "latest"
      ? inboxHead(d, agent)
      : intParam(afterRaw, "after", 0, Number.MAX_SAFE_INTEGER, 0);
    const wait = intParam(c.req.query("wait"), "wait", 0, MAX_WAIT_SECONDS, 0);
    const limit = intParam(c.req.query("limit"), "limit", 1, 500, 100);
    let items = inboxItems(d, agent, after, type, limit);
    // Wait for the first item that passes the filters (another type does not end the wait).
    const until = Date.now() + wait * 1000;
    while (items.length === 0 && Date.now() < until) {
      const woke = await d.events.waitFor(
        (e) => e.type === "inbox" && e.agent === agent,
        until - Date.now(),
      );
      if (!woke) break;
      items = inboxItems(d, agent, after, type, limit);
    }
    const last = items.at(-1)?.seq as number | undefined;
    return c.json({ agent, items, next_after: last ?? after });
  });

  app.post("/v1/tasks", async (c) => {
    const body = await readJson(c, TaskBody);
    return c.json(await createTask(d, body), 202);
  });
  app.get("/v1/tasks", (c) => {
    const state = c.req.query("state");
    if (state && !(TASK_STATES as readonly string[]).includes(state)) {
      throw fail("validation_failed", `state must be one of ${TASK_STATES.join(", ")}`);
    }
    return c.json({ tasks: listTasks(d, { agent: c.req.query("agent"), state }) });
  });
  app.get("/v1/tasks/:id", (c) => c.json(taskDetail(d, c.req.param("id"))));
  app.get("/v1/tasks/:id/artifacts/:version", (c) => {
    const version = intParam(c.req.param("version"), "version", 1, 1_000_000, 1);
    taskDetail(d, c.req.param("id"));
    const row = get(
      d.db,
      "SELECT version, content, content_type, name, note, message_id, created_at FROM artifacts WHERE task_id = ? AND version = ?",
      c.req.param("id"),
      version,
    );
    if (!row) throw fail("not_found", `no artifact version ${version}`);
    return c.json({ artifact: row });
  });
  for (const action of Object.keys(TASK_ACTIONS) as TaskActionName[]) {
    app.post(`/v1/tasks/:id/${action}`, async (c) => {
      const body = await readJson(c, ACTION_BODIES[action]) as Record<string, unknown>;
      return c.json(await taskAction(d, c.req.param("id"), action, body), 202);
    });
  }
  app.post("/v1/tasks/:id/approve", async (c) => {
    await readJson(c, Empty);
    return c.json(await decideGate(d, c.req.param("id"), true));
  });
  app.post("/v1/tasks/:id/reject", async (c) => {
    const body = await readJson(c, GateBody);
    return c.json(await decideGate(d, c.req.param("id"), false, body.reason));
  });

  app.get("/v1/quarantine", (c) => c.json({ items: listQuarantine(d) }));
  for (const verb of ["accept", "reject"] as const) {
    app.post(`/v1/quarantine/:id/${verb}`, async (c) => {
      await readJson(c, Empty);
      return c.json(await releaseQuarantine(d, c.req.param("id"), verb === "accept"));
    });
  }

  app.get("/v1/audit", (c) => {
    const task = c.req.query("task");
    const rows = all<Record<string, unknown>>(
      d.db,
      `SELECT seq, task_id, event_id, type, actor, at, data, prev_hash, hash FROM task_events
       ${task ? "WHERE task_id = ?" : ""} ORDER BY seq`,
      ...(task ? [task] : []),
    ).map((r) => ({ ...r, data: JSON.parse(r.data as string) }));
    return c.json({ events: rows });
  });

  app.get("/v1/events", (c) => {
    const agent = c.req.query("agent");
    // Replay buffered events only to a stream that resumes; a new stream starts from now.
    const resumeFrom = c.req.header("last-event-id");
    const lastId = resumeFrom === undefined ? null : Number(resumeFrom) || 0;
    return streamSSE(c, async (stream) => {
      const queue: { id: number; type: string; data: string }[] = [];
      let wake: (() => void) | null = null;
      const push = (e: { id: number; type: string; agent?: string; data: unknown }) => {
        if (agent && e.agent && e.agent !== agent) return;
        queue.push({
          id: e.id,
          type: e.type,
          data: JSON.stringify({ ...e.data as object, agent: e.agent ?? null }),
        });
        wake?.();
      };
      if (lastId !== null) { for (const e of d.events.since(lastId)) push(e); }
      const unsubscribe = d.events.subscribe(push);
      const keepalive = setInterval(() => {
        queue.push({ id: -1, type: "ping", data: "{}" });
        wake?.();
      }, 15_000);
      stream.onAbort(() => {
        unsubscribe();
        clearInterval(keepalive);
        wake?.();
      });
      await stream.writeSSE({ event: "ready", data: JSON.stringify({ version: VERSION }) });
      try {
        while (!stream.aborted) {
          if (queue.length === 0) await new Promise<void>((r) => (wake = r));
          wake = null;
          for (const item of queue.splice(0)) {
            if (item.id < 0) await stream.writeSSE({ event: "ping", data: "{}" });
            else await stream.writeSSE({ id: String(item.id), event: item.type, data: item.data });
          }
        }
      } finally {
        unsubscribe();
        clearInterval(keepalive);
      }
    });
  });

  return app;
}

/** A top-level browser navigation to the dashboard page (`GET /`), nothing else. */
function isDashboardNavigation(
  req: { method: string; path: string; header(n: string): string | undefined },
) {
  return req.method === "GET" && req.path === "/" && req.header("sec-fetch-mode") === "navigate" &&
    req.header("sec-fetch-dest") === "document";
}

function count(d: Daemon, sql: string): number {
  return (get<{ n: number }>(d.db, sql)?.n) ?? 0;
}
