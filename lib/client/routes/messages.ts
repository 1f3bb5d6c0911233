/** `/v1/messages`, `/v1/conversations` and `/v1/inbox`: send, read, ack and wait for messages. */
import { Hono } from "hono";
import { z } from "zod";
import {
  ConversationIdSchema,
  fail,
  HandleSchema,
  MessageIdSchema,
  PAYLOAD_SCHEMAS,
} from "../../protocol/mod.ts";
import { readJson } from "../../http/mod.ts";
import { listConversations, listMessages } from "../conversations.ts";
import type { Daemon } from "../daemon.ts";
import { actingAgent, requireVisibleMessage, visibleMessages } from "../guards/principal.ts";
import { ackMessage, getMessage, inboxItems, sendMessage } from "../messages.ts";
import { DEFAULT_DAEMON_OPTIONS } from "../options.ts";
import { messageView } from "../views.ts";
import { FileInputsSchema } from "../files/attach.ts";
import { intParam } from "./params.ts";

const Recipients = z.union([HandleSchema, z.array(HandleSchema).min(1).max(32)]);
const MessageBody = z.strictObject({
  from: HandleSchema,
  to: Recipients,
  text: z.string().max(1_000_000).optional(),
  data: z.unknown().optional(),
  conversation_id: ConversationIdSchema.optional(),
  reply_to: MessageIdSchema.optional(),
  files: FileInputsSchema.optional(),
}).refine(
  (m) => m.text !== undefined || m.data !== undefined || m.files !== undefined,
  "give text, data or files",
);
const AckBody = z.strictObject({
  agent: HandleSchema.optional(),
  state: z.enum(["read", "processed"]),
});

/** The message, conversation and inbox routes. */
export function messageRoutes(d: Daemon): Hono {
  const app = new Hono();
  app.post("/messages", async (c) => {
    const body = await readJson(c, MessageBody);
    actingAgent(c, body.from);
    const to = typeof body.to === "string" ? [body.to] : body.to;
    // Files: stored and described first (docs/api.md, "Files").
    const files = body.files ? await d.files.prepare(body.files) : undefined;
    return c.json(await sendMessage(d, { ...body, to, files }), 202);
  });
  // Read-only history views for the dashboard (docs/api.md, "Dashboard").
  app.get("/messages", (c) => {
    const messages = listMessages(d, {
      agent: actingAgent(c, c.req.query("agent")),
      peer: c.req.query("peer"),
      type: c.req.query("type"),
      limit: intParam(c.req.query("limit"), "limit", 1, 500, 100),
    });
    // An agent token never sees the messages of a task held at the owner's gate.
    return c.json({ messages: visibleMessages(c, d, messages) });
  });
  app.get(
    "/conversations",
    (c) => c.json({ conversations: listConversations(d, actingAgent(c, c.req.query("agent"))) }),
  );
  app.get("/messages/:id", (c) => {
    const own = requireVisibleMessage(c, d, c.req.param("id"));
    return c.json({ message: own ? messageView(own) : getMessage(d, c.req.param("id")) });
  });
  app.post("/messages/:id/ack", async (c) => {
    const body = await readJson(c, AckBody);
    requireVisibleMessage(c, d, c.req.param("id"));
    body.agent = actingAgent(c, body.agent);
    return c.json({ message: await ackMessage(d, c.req.param("id"), body) });
  });

  app.get("/inbox", async (c) => {
    const agent = d.keyring.acting(actingAgent(c, c.req.query("agent")));
    const type = c.req.query("type");
    if (type !== undefined && !(type in PAYLOAD_SCHEMAS)) {
      throw fail("validation_failed", `unknown type ${type}`);
    }
    const afterRaw = c.req.query("after");
    const after = afterRaw === "latest"
      ? d.store.inbox.head(agent)
      : intParam(afterRaw, "after", 0, Number.MAX_SAFE_INTEGER, 0);
    const wait = intParam(c.req.query("wait"), "wait", 0, DEFAULT_DAEMON_OPTIONS.maxWaitSeconds, 0);
    const limit = intParam(c.req.query("limit"), "limit", 1, 500, 100);
    let items = inboxItems(d, agent, after, type, limit);
    // Wait for the first item that passes the filters (another type does not end the wait).
    // Real time, not the daemon's clock: this bounds how long a socket stays open.
    const until = Date.now() + wait * 1000;
    while (items.length === 0 && Date.now() < until) {
      const woke = await d.events.waitFor(
        (e) => e.type === "inbox" && e.agent === agent,
        until - Date.now(),
      );
      if (!woke) break;
      items = inboxItems(d, agent, after, type, limit);
    }
    const last = items.at(-1)?.seq;
    return c.json({ agent, items, next_after: last ?? after });
  });
  return app;
}
