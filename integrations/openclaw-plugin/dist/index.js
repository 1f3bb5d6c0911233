// TaskFerry tools for OpenClaw: the Go TaskFerry plugin's 15 tools (same names and arguments)
// over the local TaskFerry daemon's loopback API. Plain ES module, no build step.
//
// Configuration: TASKFERRY_LOCAL_URL (default http://127.0.0.1:4318) and
// TASKFERRY_LOCAL_API_TOKEN (the daemon's local token, `cat ~/.taskferry/local-token`).
// A non-2xx answer throws Error("TaskFerry local API <status>: <body>"), as the Go plugin did.
import process from "node:process";
import { Type } from "typebox";
import { defineToolPlugin } from "openclaw/plugin-sdk/tool-plugin";

const TIMEOUT_MS = 15_000;

function baseUrl() {
  return (process.env.TASKFERRY_LOCAL_URL || "http://127.0.0.1:4318").replace(/\/+$/, "");
}

async function call(method, path, body, query, signal) {
  const qs = query ? "?" + new URLSearchParams(query).toString() : "";
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  const res = await fetch(baseUrl() + path + qs, {
    method,
    headers: {
      authorization: `Bearer ${process.env.TASKFERRY_LOCAL_API_TOKEN ?? ""}`,
      accept: "application/json",
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`TaskFerry local API ${res.status}: ${text}`);
  return text ? JSON.parse(text) : {};
}

/** A JSON array or a comma-separated string, as a list of strings. */
function list(value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value.split(",").map((s) => s.trim()).filter(Boolean);
  return value.map(String);
}

/** `obj` without undefined, null or empty-string values. */
function opt(obj) {
  return Object.fromEntries(
    Object.entries(obj).filter(([, v]) => v !== undefined && v !== null && v !== ""),
  );
}

// A handle or id as path segments (a handle's "/" is the route's); dots never climb.
const seg = (text) =>
  String(text).split("/").map((p) => encodeURIComponent(p).replace(/%40/g, "@"))
    .map((p) => /^\.*$/.test(p) ? p.replace(/\./g, "%2E") : p).join("/");

const S = (description) => Type.String({ description });
const LIST = () =>
  Type.Union([Type.Array(Type.String()), Type.String()], {
    description: "a JSON array of strings, or a comma-separated string",
  });
const O = (schema) => Type.Optional(schema);
const params = (props) => Type.Object(props, { additionalProperties: false });

async function inbox(p, signal) {
  const unprocessed = p.unprocessed ?? true;
  const items = [];
  for (let after = 0;;) {
    const page = await call("GET", "/v1/inbox", undefined, {
      agent: p.agent,
      after: String(after),
      limit: "500",
    }, signal);
    items.push(...page.items);
    if (page.items.length < 500) break;
    after = page.next_after;
  }
  return {
    agent: p.agent,
    unprocessed: Boolean(unprocessed),
    items: unprocessed ? items.filter((m) => m.state !== "processed") : items,
  };
}

const action = (p, name, body, signal) =>
  call(
    "POST",
    `/v1/tasks/${seg(p.task_id)}/${name}`,
    opt({ agent: p.from, ...body }),
    undefined,
    signal,
  );

/** The tools: name, label, description, parameters, and the call each makes. */
export const TOOLS = [
  {
    name: "taskferry_health",
    label: "TaskFerry health",
    description: "Check the local TaskFerry daemon and its relay link.",
    parameters: params({}),
    run: (_p, signal) => call("GET", "/v1/health", undefined, undefined, signal),
  },
  {
    name: "taskferry_register_agent",
    label: "Register TaskFerry agent",
    description:
      "Create a local agent identity (keys stay on this machine) and register it at the relay.",
    parameters: params({
      handle: S("the agent's handle, @owner/name"),
      display_name: O(S("display name")),
      description: O(S("what the agent does")),
      tagline: O(S("one line shown before the description")),
      capabilities: O(LIST()),
      public_profile: O(
        Type.Boolean({ description: "list it in the relay directory (default false)" }),
      ),
    }),
    run: (p, signal) => {
      const description = [p.tagline, p.description].filter(Boolean).join("\n\n");
      const capabilities = list(p.capabilities);
      return call(
        "POST",
        "/v1/agents",
        {
          ...opt({ handle: p.handle, display_name: p.display_name, description }),
          ...(capabilities?.length ? { capabilities } : {}),
          public: p.public_profile === true,
        },
        undefined,
        signal,
      );
    },
  },
  {
    name: "taskferry_show_invite",
    label: "Show TaskFerry invite",
    description: "Issue an invite link for a local agent, to give to another agent's owner.",
    parameters: params({ agent: S("the local agent's handle") }),
    run: (p, signal) => call("POST", "/v1/invites", { agent: p.agent }, undefined, signal),
  },
  {
    name: "taskferry_add_friend",
    label: "Add TaskFerry friend",
    description:
      "Send a connection request through an invite link (the key fingerprint in it is checked).",
    parameters: params({
      from: S("your local agent"),
      invite: S("a taskferry:// invite link"),
      message: O(S("a note for the other side")),
    }),
    run: (p, signal) =>
      call(
        "POST",
        "/v1/connections",
        opt({ from: p.from, invite: p.invite, note: p.message }),
        undefined,
        signal,
      ),
  },
  {
    name: "taskferry_request_connection",
    label: "Request TaskFerry connection",
    description:
      "Ask another agent (by handle) for a connection; it must accept before you can send work.",
    parameters: params({
      from: S("your local agent"),
      to: S("the other agent's handle"),
      message: O(S("a note for the other side")),
    }),
    run: (p, signal) =>
      call(
        "POST",
        "/v1/connections",
        opt({ from: p.from, to: p.to, note: p.message }),
        undefined,
        signal,
      ),
  },
  {
    name: "taskferry_accept_connection",
    label: "Accept TaskFerry connection",
    description: "Accept a pending connection request.",
    parameters: params({
      from: S("your local agent (who was asked)"),
      to: S("the agent that asked"),
    }),
    run: (p, signal) =>
      call("POST", `/v1/connections/${seg(p.to)}/accept`, { agent: p.from }, undefined, signal),
  },
  {
    name: "taskferry_create_task",
    label: "Create TaskFerry task",
    description: "Send a task to a connected agent. Then wait for its artifact in the inbox.",
    parameters: params({
      from: S("your local agent (the requester)"),
      to: S("the worker agent"),
      title: S("short title"),
      description: S("what to do"),
      requirements: O(LIST()),
      max_revisions: O(Type.Integer({ minimum: 0, description: "default 3" })),
      expected_format: O(S("what the artifact should look like")),
    }),
    run: (p, signal) => {
      const requirements = list(p.requirements);
      const inputs = opt({
        requirements: requirements?.length ? requirements : undefined,
        expected_format: p.expected_format,
      });
      return call(
        "POST",
        "/v1/tasks",
        {
          from: p.from,
          to: p.to,
          title: p.title,
          instructions: p.description,
          max_revisions: p.max_revisions ?? 3,
          ...(Object.keys(inputs).length ? { inputs } : {}),
        },
        undefined,
        signal,
      );
    },
  },
  {
    name: "taskferry_check_inbox",
    label: "Check TaskFerry inbox",
    description: "List an agent's inbox; by default only items not yet acknowledged as processed.",
    parameters: params({
      agent: S("your local agent"),
      unprocessed: O(Type.Boolean({ description: "only unprocessed items (default true)" })),
    }),
    run: inbox,
  },
  {
    name: "taskferry_ack_message",
    label: "Acknowledge TaskFerry message",
    description: "Mark an inbox message processed (the sender sees it).",
    parameters: params({ message_id: S("the message id (msg_…)") }),
    run: (p, signal) =>
      call(
        "POST",
        `/v1/messages/${seg(p.message_id)}/ack`,
        { state: "processed" },
        undefined,
        signal,
      ),
  },
  {
    name: "taskferry_list_tasks",
    label: "List TaskFerry tasks",
    description: "List tasks with their state.",
    parameters: params({}),
    run: (_p, signal) => call("GET", "/v1/tasks", undefined, undefined, signal),
  },
  {
    name: "taskferry_accept_task",
    label: "Accept TaskFerry task",
    description: "Accept a task sent to your agent.",
    parameters: params({
      task_id: S("the task id"),
      from: S("your local agent (the worker)"),
      message: O(S("a note")),
    }),
    run: (p, signal) => action(p, "accept", { note: p.message }, signal),
  },
  {
    name: "taskferry_decline_task",
    label: "Decline TaskFerry task",
    description: "Decline a task sent to your agent.",
    parameters: params({
      task_id: S("the task id"),
      from: S("your local agent (the worker)"),
      reason: O(S("why")),
    }),
    run: (p, signal) => action(p, "decline", { reason: p.reason }, signal),
  },
  {
    name: "taskferry_submit_artifact",
    label: "Submit TaskFerry artifact",
    description: "Submit the next artifact version for a task you accepted.",
    parameters: params({
      task_id: S("the task id"),
      from: S("your local agent (the worker)"),
      content: Type.Unknown({ description: "the artifact: any JSON value ({} when null)" }),
      artifact_type: O(S("default json")),
      notes: O(S("notes for the requester")),
    }),
    run: (p, signal) => {
      const type = p.artifact_type || "json";
      return action(p, "artifacts", {
        content: JSON.stringify(p.content ?? {}, null, 2),
        content_type: "application/json",
        name: type === "json" ? undefined : type,
        note: p.notes,
      }, signal);
    },
  },
  {
    name: "taskferry_request_revision",
    label: "Request TaskFerry revision",
    description: "Ask the worker to revise the latest artifact.",
    parameters: params({
      task_id: S("the task id"),
      from: S("your local agent (the requester)"),
      reason: S("what is wrong"),
      requested_changes: O(LIST()),
    }),
    run: (p, signal) =>
      action(p, "revisions", {
        feedback: [p.reason, ...(list(p.requested_changes) ?? []).map((c) => `- ${c}`)].join("\n"),
      }, signal),
  },
  {
    name: "taskferry_complete_task",
    label: "Complete TaskFerry task",
    description: "Complete a task, accepting its latest artifact.",
    parameters: params({
      task_id: S("the task id"),
      from: S("your local agent (the requester)"),
      message: O(S("a note")),
    }),
    run: (p, signal) => action(p, "complete", { note: p.message }, signal),
  },
];

export default defineToolPlugin({
  id: "taskferry",
  name: "TaskFerry",
  description: "Hand work to agents on other machines through your local TaskFerry daemon.",
  tools: (tool) =>
    TOOLS.map((t) =>
      tool({
        name: t.name,
        label: t.label,
        description: t.description,
        parameters: t.parameters,
        execute: (params, _config, context) => t.run(params ?? {}, context?.signal),
      })
    ),
});
