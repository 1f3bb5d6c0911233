/**
 * The Go TaskFerry MCP server's 15 `taskferry_*` tools, with its argument names, over our
 * loopback API (issue 20; docs/migrating.md). Served next to our own tools so that MCP configs and
 * prompts written for `taskferry-mcp` keep working; `taskferry mcp --tools` hides either set.
 *
 * The arguments follow the Go server (and integrations/hermes-plugin/schemas.py, the reference):
 * the acting agent is an explicit `from` / `agent`, lists are a JSON array or a comma-separated
 * string, artifact content is any JSON value. The answers are this daemon's JSON (snake_case),
 * and failures are `isError` results with a stable code, not the Go server's JSON-RPC errors.
 */
import { z } from "zod";
import { defined, handle } from "./args.ts";
import { type Tool, tool, type ToolHints } from "./tool.ts";

const text = (what: string, max = 2000) => z.string().max(max).describe(what);
const local = (what: string) => handle(`Your local agent (${what}), like @alice/requester.`);
const taskId = z.string().min(1).max(64).describe("The task id (task_…).");
/** A Go list argument: a JSON array of strings, or one comma-separated string. */
const list = (what: string) =>
  z.union([z.array(z.string().max(200)).max(100), z.string().max(20_000)]).describe(
    `${what}: a JSON array of strings, or a comma-separated string.`,
  );

/** A Go list argument as strings (blanks dropped), or undefined when absent or empty. */
function goList(value: string[] | string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = (typeof value === "string" ? value.split(",") : value).map((s) => s.trim())
    .filter((s) => s !== "");
  return items.length ? items : undefined;
}

/** An optional Go text argument: "" meant absent there. */
const opt = (s: string | undefined) => s === "" ? undefined : s;

const READ: ToolHints = { readOnlyHint: true, openWorldHint: false };
const WRITE: ToolHints = { readOnlyHint: false, destructiveHint: false, openWorldHint: true };

/** The Go MCP server's tools, in its order. */
export const GO_TOOLS: readonly Tool[] = [
  tool({
    name: "taskferry_health",
    title: "Health (Go TaskFerry)",
    description: "Check the local TaskFerry daemon: version, relay connection and counts. " +
      "(Go TaskFerry name; the same as whoami without the agent list.)",
    input: z.strictObject({}),
    annotations: READ,
    run: (ctx) => ctx.api.health(),
  }),
  tool({
    name: "taskferry_register_agent",
    title: "Register an agent (Go TaskFerry)",
    description: "Create a local agent identity (its keys stay on this machine) and register it " +
      "at the relay. The handle's owner part must be this daemon's client id.",
    input: z.strictObject({
      handle: handle("The new agent's handle, like @alice/agent."),
      display_name: text("Display name.", 100).optional(),
      description: text("What the agent does.").optional(),
      tagline: text("One line shown before the description.", 200).optional(),
      capabilities: list("Capabilities, like code,review").optional(),
      public_profile: z.boolean().optional().describe(
        "List the agent in the relay's public directory (default false).",
      ),
    }),
    annotations: WRITE,
    run: (ctx, a) => {
      const description = [a.tagline, a.description].filter((x) => x).join("\n\n");
      return ctx.api.request("POST", "/v1/agents", {
        handle: a.handle,
        ...defined({
          display_name: opt(a.display_name),
          description: opt(description),
          capabilities: goList(a.capabilities),
        }),
        public: a.public_profile === true,
      });
    },
  }),
  tool({
    name: "taskferry_show_invite",
    title: "Show an invite (Go TaskFerry)",
    description: "Issue an invite link for a local agent, to give to another agent's owner " +
      "through a channel you trust. The link carries the agent's key fingerprint.",
    input: z.strictObject({ agent: local("the one to invite to") }),
    annotations: WRITE,
    run: (ctx, a) => ctx.api.request("POST", "/v1/invites", { agent: a.agent }),
  }),
  tool({
    name: "taskferry_add_friend",
    title: "Add a friend by invite (Go TaskFerry)",
    description: "Send a connection request through an invite link (taskferry://…/invite/…); " +
      "the key fingerprint in the link is checked. The other side must accept.",
    input: z.strictObject({
      from: local("who asks"),
      invite: z.string().min(10).max(2048).describe("A taskferry:// invite link."),
      message: text("A note for the other side.").optional(),
    }),
    annotations: WRITE,
    run: (ctx, a) =>
      ctx.api.request(
        "POST",
        "/v1/connections",
        defined({ from: a.from, invite: a.invite, note: opt(a.message) }),
      ),
  }),
  tool({
    name: "taskferry_request_connection",
    title: "Request a connection (Go TaskFerry)",
    description: "Ask another agent, by handle, for a connection; it must accept before you can " +
      "send it work.",
    input: z.strictObject({
      from: local("who asks"),
      to: handle("The other agent, like @bob/writer."),
      message: text("A note for the other side.").optional(),
    }),
    annotations: WRITE,
    run: (ctx, a) =>
      ctx.api.request(
        "POST",
        "/v1/connections",
        defined({ from: a.from, to: a.to, note: opt(a.message) }),
      ),
  }),
  tool({
    name: "taskferry_accept_connection",
    title: "Accept a connection (Go TaskFerry)",
    description: "Accept a pending connection request: `from` is your agent (who was asked), " +
      "`to` the agent that asked.",
    input: z.strictObject({
      from: local("who was asked"),
      to: handle("The agent that asked, like @alice/requester."),
    }),
    annotations: WRITE,
    // `to` passed HANDLE_RE (URL-safe characters only), so it is a safe path as it stands.
    run: (ctx, a) => ctx.api.acceptConnection(a.to, { agent: a.from }),
  }),
  tool({
    name: "taskferry_create_task",
    title: "Create a task (Go TaskFerry)",
    description: "Send a task to a connected agent; you are the requester. Then watch " +
      "taskferry_check_inbox for its artifact, and answer with taskferry_request_revision or " +
      "taskferry_complete_task.",
    input: z.strictObject({
      from: local("the requester"),
      to: handle("The worker, a connected agent like @bob/writer."),
      title: z.string().min(1).max(200).describe("A short title."),
      description: z.string().max(1_000_000).describe("What to do, in full."),
      requirements: list("Requirements").optional(),
      max_revisions: z.number().int().min(0).max(100).optional().describe(
        "How many revision requests the task allows (default 3).",
      ),
      expected_format: text("What the artifact should look like.").optional(),
    }),
    annotations: WRITE,
    run: (ctx, a) => {
      const inputs: Record<string, unknown> = defined({
        requirements: goList(a.requirements),
        expected_format: opt(a.expected_format),
      });
      return ctx.api.createTask({
        from: a.from,
        to: a.to,
        title: a.title,
        instructions: a.description,
        max_revisions: a.max_revisions ?? 3,
        ...(Object.keys(inputs).length ? { inputs } : {}),
      });
    },
  }),
  tool({
    name: "taskferry_check_inbox",
    title: "Check the inbox (Go TaskFerry)",
    description: "List an agent's inbox (messages, task requests, artifacts, revision requests, " +
      "connection requests, receipts), by default only items not yet acknowledged as processed. " +
      "Acknowledge each with taskferry_ack_message once handled.",
    input: z.strictObject({
      agent: local("whose inbox"),
      unprocessed: z.boolean().optional().describe("Only unprocessed items (default true)."),
    }),
    annotations: READ,
    run: async (ctx, a) => {
      const unprocessed = a.unprocessed ?? true;
      const items = [];
      for (let after = 0;;) {
        const page = await ctx.api.inbox({ agent: a.agent, after, limit: 500 }, ctx.signal);
        items.push(...page.items);
        if (page.items.length < 500) break;
        after = page.next_after;
      }
      const wanted = items.filter((m) => !unprocessed || m.state !== "processed");
      return { agent: a.agent, unprocessed, items: wanted };
    },
  }),
  tool({
    name: "taskferry_ack_message",
    title: "Acknowledge a message (Go TaskFerry)",
    description: "Mark an inbox message processed; the sender gets a signed receipt.",
    input: z.strictObject({
      message_id: z.string().min(1).max(64).describe("The message id (msg_…)."),
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    run: async (ctx, a) => ({
      message: await ctx.api.ack(a.message_id, "processed"),
    }),
  }),
  tool({
    name: "taskferry_list_tasks",
    title: "List tasks (Go TaskFerry)",
    description: "List the tasks your agents take part in, newest first, with their state.",
    input: z.strictObject({}),
    annotations: READ,
    run: async (ctx) => ({ tasks: await ctx.api.tasks() }),
  }),
  tool({
    name: "taskferry_accept_task",
    title: "Accept a task (Go TaskFerry)",
    description: "As the worker, accept a task sent to your agent; then do it and " +
      "taskferry_submit_artifact.",
    input: z.strictObject({
      task_id: taskId,
      from: local("the worker"),
      message: text("A note for the requester.").optional(),
    }),
    annotations: WRITE,
    run: (ctx, a) =>
      ctx.api.acceptTask(a.task_id, defined({ agent: a.from, note: opt(a.message) })),
  }),
  tool({
    name: "taskferry_decline_task",
    title: "Decline a task (Go TaskFerry)",
    description: "As the worker, decline a task sent to your agent (final).",
    input: z.strictObject({
      task_id: taskId,
      from: local("the worker"),
      reason: text("Why, for the requester.").optional(),
    }),
    annotations: { ...WRITE, destructiveHint: true },
    run: (ctx, a) =>
      ctx.api.declineTask(a.task_id, defined({ agent: a.from, reason: opt(a.reason) })),
  }),
  tool({
    name: "taskferry_submit_artifact",
    title: "Submit an artifact (Go TaskFerry)",
    description: "As the worker, submit the next artifact version of a task you accepted. The " +
      "content is any JSON value (null means {}); it is sent as an application/json artifact.",
    input: z.strictObject({
      task_id: taskId,
      from: local("the worker"),
      content: z.json().describe("The artifact: any JSON value."),
      artifact_type: z.string().min(1).max(200).optional().describe(
        'The artifact type (default "json"); any other value names the artifact.',
      ),
      notes: text("Notes for the requester.").optional(),
    }),
    annotations: WRITE,
    run: (ctx, a) => {
      const type = a.artifact_type ?? "json";
      return ctx.api.submitArtifact(a.task_id, {
        agent: a.from,
        content: JSON.stringify(a.content ?? {}, null, 2),
        content_type: "application/json",
        ...defined({ name: type === "json" ? undefined : type, note: opt(a.notes) }),
      });
    },
  }),
  tool({
    name: "taskferry_request_revision",
    title: "Request a revision (Go TaskFerry)",
    description: "As the requester, send the latest artifact back to the worker with the reason " +
      "and the changes wanted; it answers with a new version.",
    input: z.strictObject({
      task_id: taskId,
      from: local("the requester"),
      reason: z.string().min(1).max(100_000).describe("What is wrong."),
      requested_changes: list("The changes wanted").optional(),
    }),
    annotations: WRITE,
    run: (ctx, a) => {
      // The Go revision had a reason and a change list; our feedback is one text, so each
      // change becomes a bullet line under the reason (as the Go CLI verb task-revision does).
      const changes = goList(a.requested_changes) ?? [];
      const feedback = [a.reason, ...changes.map((c) => `- ${c}`)].join("\n");
      return ctx.api.requestRevision(a.task_id, { agent: a.from, feedback });
    },
  }),
  tool({
    name: "taskferry_complete_task",
    title: "Complete a task (Go TaskFerry)",
    description: "As the requester, accept the latest artifact and close the task (final).",
    input: z.strictObject({
      task_id: taskId,
      from: local("the requester"),
      message: text("A note for the worker.").optional(),
    }),
    annotations: WRITE,
    run: (ctx, a) =>
      ctx.api.completeTask(a.task_id, defined({ agent: a.from, note: opt(a.message) })),
  }),
];
