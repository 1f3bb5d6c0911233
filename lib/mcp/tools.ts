/**
 * The MCP tools: one per loopback-API action an agent needs, each with a zod input schema and a
 * description written for the model that reads it. Every tool goes through lib/sdk.
 */
import { z } from "zod";
import { agentArg, defined, handle, jsonObject, MAX_WAIT_SECONDS, resolveAgent } from "./args.ts";
import { attach, FILE_TOOLS, filesArg } from "./file_tools.ts";
import { TASK_TOOLS } from "./task_tools.ts";
import { type Tool, tool } from "./tool.ts";

export { resolveAgent } from "./args.ts";

export type { Tool, ToolContext, ToolHints } from "./tool.ts";

export { MAX_WAIT_SECONDS } from "./args.ts";

/** Every tool, in the order `tools/list` shows them. */
export const TOOLS: readonly Tool[] = [
  tool({
    name: "whoami",
    title: "Who am I",
    description:
      "Check the local TaskFerry daemon: version, relay connection, counts (open tasks, pending " +
      "connections, …) and the local agents you can act as, with key fingerprints. Call this " +
      "first to learn your agent handle.",
    input: z.strictObject({}),
    annotations: { readOnlyHint: true, openWorldHint: false },
    run: async (ctx) => {
      const [health, agents] = await Promise.all([ctx.api.health(), ctx.api.agents()]);
      return {
        daemon: health,
        agents: agents.map((a) =>
          defined({
            handle: a.handle,
            fingerprint: a.fingerprint,
            display_name: a.display_name,
            description: a.description,
            registered: a.registered,
          })
        ),
        default_agent: ctx.defaultAgent ?? (agents.length === 1 ? agents[0]!.handle : null),
      };
    },
  }),
  tool({
    name: "list_connections",
    title: "List connections",
    description:
      "List the remote agents your agent is connected to (state connected) or has asked / been " +
      "asked by (pending_out, pending_in), with the permissions of each connection. You can only " +
      "message and send tasks to peers in state connected.",
    input: z.strictObject({ agent: agentArg }),
    annotations: { readOnlyHint: true, openWorldHint: false },
    run: async (ctx, args) => ({
      connections: await ctx.api.connections(args.agent ?? ctx.defaultAgent),
    }),
  }),
  tool({
    name: "connect",
    title: "Request a connection",
    description:
      "Ask a remote agent for a connection, by handle (@owner/name) or by an invite link " +
      "(taskferry://…/invite/CODE#fp=…, whose key fingerprint is checked). The other side's " +
      "owner or agent must accept before you can message it; watch wait_for_inbox for a " +
      "connection_accept.",
    input: z.strictObject({
      target: z.string().min(2).max(512).describe(
        "A handle like @bob/writer, or an invite link taskferry://…/invite/CODE#fp=….",
      ),
      note: z.string().max(2000).optional().describe("A note the other owner sees."),
      agent: agentArg,
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    run: async (ctx, args) => {
      const from = await resolveAgent(ctx, args.agent);
      const target = args.target.startsWith("@") ? { to: args.target } : { invite: args.target };
      return await ctx.api.connect(defined({ from, ...target, note: args.note }));
    },
  }),
  tool({
    name: "send_message",
    title: "Send a message",
    description:
      "Send a signed, end-to-end encrypted message to one or more connected agents. Give text, " +
      "structured data, or both. To reply in a thread, pass reply_to (the message id you " +
      "answer). Returns the message id and its delivery state (queued → delivered → read → " +
      "processed).",
    input: z.strictObject({
      to: z.union([handle("Recipient handle"), z.array(handle("Recipient handle")).min(1).max(32)])
        .describe("Recipient handle, or a list of them."),
      text: z.string().max(1_000_000).optional().describe("The message text."),
      data: jsonObject().optional().describe("Structured data to send along (a JSON object)."),
      reply_to: z.string().max(64).optional().describe("The message id (msg_…) you reply to."),
      conversation_id: z.string().max(64).optional().describe(
        "Continue this conversation (conv_…).",
      ),
      files: filesArg,
      agent: agentArg,
    }).refine(
      (m) => m.text !== undefined || m.data !== undefined || m.files !== undefined,
      "give text, data or files",
    ),
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    run: async (ctx, args) => {
      const from = await resolveAgent(ctx, args.agent);
      const { agent: _agent, files, ...rest } = args;
      return await ctx.api.send(defined({ from, ...rest, ...attach(files) }));
    },
  }),
  tool({
    name: "wait_for_inbox",
    title: "Wait for inbox items",
    description:
      "Read your agent's inbox: messages, task requests, artifacts, revision requests, " +
      "connection requests and receipts from other agents, oldest first. Waits up to " +
      `wait_seconds (max ${MAX_WAIT_SECONDS}) for the first new item when there is none. ` +
      "Returns items and next_after; pass next_after as `after` next time (this server also " +
      "remembers it per agent and type filter, so omitting `after` continues where the last " +
      "such call stopped). " +
      'after="latest" skips everything already there.',
    input: z.strictObject({
      agent: agentArg,
      after: z.union([z.number().int().min(0), z.literal("latest")]).optional().describe(
        "Inbox cursor: only items after it. Default: where this session's last call stopped " +
          '(0 at first). "latest" = only items that arrive from now on.',
      ),
      wait_seconds: z.number().int().min(0).max(MAX_WAIT_SECONDS).optional().describe(
        "How long to wait for a new item when none is there yet (default 20, 0 = don't wait).",
      ),
      type: z.string().max(32).optional().describe(
        "Only items of this type: message, task_request, task_accept, task_decline, " +
          "artifact_submit, revision_request, task_complete, task_cancel, connection_request, " +
          "connection_accept, connection_decline, receipt.",
      ),
      limit: z.number().int().min(1).max(100).optional().describe(
        "At most this many items (default 20).",
      ),
    }),
    annotations: { readOnlyHint: true, openWorldHint: false },
    run: async (ctx, args) => {
      const agent = await resolveAgent(ctx, args.agent);
      // One cursor per agent and filter: a filtered read must not skip other types' items.
      const key = `${agent} ${args.type ?? "*"}`;
      const after = args.after ?? ctx.cursors.get(key) ?? 0;
      const page = await ctx.api.inbox(
        defined({
          agent,
          after,
          type: args.type,
          wait: args.wait_seconds ?? 20,
          limit: args.limit ?? 20,
        }),
        ctx.signal,
      );
      ctx.cursors.set(key, page.next_after);
      return page;
    },
  }),
  ...TASK_TOOLS,
  ...FILE_TOOLS,
  tool({
    name: "ack_message",
    title: "Acknowledge a message",
    description:
      "Mark an inbox item read or processed; the sender gets a signed receipt and sees the " +
      "state. Acknowledge processed once you have acted on a message.",
    input: z.strictObject({
      message_id: z.string().min(1).max(64).describe("The inbox item's id (msg_…)."),
      state: z.enum(["read", "processed"]).describe("read or processed."),
      agent: agentArg,
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    run: async (ctx, args) => ({
      message: await ctx.api.ack(args.message_id, args.state, args.agent ?? ctx.defaultAgent),
    }),
  }),
];
