/**
 * The Go `taskferry` CLI's verbs over the loopback API (docs/migrating.md has the table): the
 * same names and flags, the daemon's JSON answer printed as it comes.
 */
import { UsageError } from "../command.ts";
import type { Command } from "../command.ts";
import { commaList, goVerb } from "./common.ts";

const S = { type: "string" } as const;

/** `health` */
export const goHealth = goVerb({
  name: "health",
  summary: "Show the daemon's health and relay link",
  usage: "health",
  call: (api) => api.request("GET", "/v1/health"),
});

/** `invite-show --agent` */
export const goInviteShow = goVerb({
  name: "invite-show",
  summary: "Issue an invite link for a local agent",
  usage: "invite-show --agent AGENT",
  flags: { agent: S },
  required: ["agent"],
  call: (api, v) => api.request("POST", "/v1/invites", { agent: v.agent }),
});

/** `friend-add --from --invite --message` */
export const goFriendAdd = goVerb({
  name: "friend-add",
  summary: "Send a connection request through an invite link",
  usage: "friend-add --from AGENT --invite LINK [--message TEXT]",
  flags: { from: S, invite: S, message: S },
  required: ["from", "invite"],
  call: (api, v) =>
    api.request("POST", "/v1/connections", {
      from: v.from,
      invite: v.invite,
      ...(v.message ? { note: v.message } : {}),
    }),
});

/** `connection-request --from --to --message` */
export const goConnectionRequest = goVerb({
  name: "connection-request",
  summary: "Ask another agent for a connection",
  usage: "connection-request --from AGENT --to PEER [--message TEXT]",
  flags: { from: S, to: S, message: S },
  required: ["from", "to"],
  call: (api, v) =>
    api.request("POST", "/v1/connections", {
      from: v.from,
      to: v.to,
      ...(v.message ? { note: v.message } : {}),
    }),
});

/** `connection-accept --from --to`: `--from` is the local agent, `--to` the requester. */
export const goConnectionAccept = goVerb({
  name: "connection-accept",
  summary: "Accept a pending connection request",
  usage: "connection-accept --from LOCAL_AGENT --to REQUESTER",
  flags: { from: S, to: S },
  required: ["from", "to"],
  call: (api, v) => api.request("POST", `/v1/connections/${v.to}/accept`, { agent: v.from }),
});

/** `task-create` */
export const goTaskCreate = goVerb({
  name: "task-create",
  summary: "Send a task to a connected agent",
  usage: `task-create --from AGENT --to PEER --title TEXT --description TEXT
                           [--requirements a,b] [--max-revisions 3] [--expected-format TEXT]`,
  flags: {
    from: S,
    to: S,
    title: S,
    description: S,
    requirements: S,
    "max-revisions": S,
    "expected-format": S,
  },
  required: ["from", "to", "title", "description"],
  call: (api, v) => {
    const max = Number(v["max-revisions"] ?? 3);
    if (!Number.isInteger(max) || max < 0) {
      throw new UsageError("--max-revisions takes a whole number");
    }
    const inputs: Record<string, unknown> = {};
    const requirements = commaList(v.requirements);
    if (requirements?.length) inputs.requirements = requirements;
    if (v["expected-format"]) inputs.expected_format = v["expected-format"];
    return api.request("POST", "/v1/tasks", {
      from: v.from,
      to: v.to,
      title: v.title,
      instructions: v.description,
      max_revisions: max,
      ...(Object.keys(inputs).length ? { inputs } : {}),
    });
  },
});

/** `message-ack --id`: marks a message processed (the Go "ack"). */
export const goMessageAck = goVerb({
  name: "message-ack",
  summary: "Mark an inbox message processed",
  usage: "message-ack --id MESSAGE_ID",
  flags: { id: S },
  required: ["id"],
  call: (api, v) => api.request("POST", `/v1/messages/${v.id}/ack`, { state: "processed" }),
});

/** `tasks` */
export const goTasks = goVerb({
  name: "tasks",
  summary: "List tasks",
  usage: "tasks",
  call: (api) => api.request("GET", "/v1/tasks"),
});

/** `task-accept --task --from --message` */
export const goTaskAccept = goVerb({
  name: "task-accept",
  summary: "Accept a task (worker)",
  usage: "task-accept --task TASK_ID --from AGENT [--message TEXT]",
  flags: { task: S, from: S, message: S },
  required: ["task", "from"],
  call: (api, v) =>
    api.request("POST", `/v1/tasks/${v.task}/accept`, {
      agent: v.from,
      ...(v.message ? { note: v.message } : {}),
    }),
});

/** `task-decline --task --from --reason` */
export const goTaskDecline = goVerb({
  name: "task-decline",
  summary: "Decline a task (worker)",
  usage: "task-decline --task TASK_ID --from AGENT [--reason TEXT]",
  flags: { task: S, from: S, reason: S },
  required: ["task", "from"],
  call: (api, v) =>
    api.request("POST", `/v1/tasks/${v.task}/decline`, {
      agent: v.from,
      ...(v.reason ? { reason: v.reason } : {}),
    }),
});

/** Parses Go `--content-json` / `--content-file` (the file wins; empty means `{}`). */
export function goContent(json: string | undefined, file: string | undefined): unknown {
  let text = json ?? "";
  let where = "--content-json";
  if (file !== undefined) {
    where = `--content-file ${file}`;
    try {
      text = Deno.readTextFileSync(file);
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${where} is not valid JSON`);
  }
}

/** `task-submit`: the content is JSON, sent as an `application/json` artifact. */
export const goTaskSubmit = goVerb({
  name: "task-submit",
  summary: "Submit the next artifact version (worker)",
  usage: `task-submit --task TASK_ID --from AGENT [--artifact-type json]
                           (--content-json JSON | --content-file FILE) [--notes TEXT]`,
  flags: { task: S, from: S, "artifact-type": S, "content-json": S, "content-file": S, notes: S },
  required: ["task", "from"],
  call: (api, v) => {
    const content = goContent(v["content-json"], v["content-file"]);
    const type = v["artifact-type"] ?? "json";
    return api.request("POST", `/v1/tasks/${v.task}/artifacts`, {
      agent: v.from,
      content: JSON.stringify(content, null, 2),
      content_type: "application/json",
      ...(type !== "json" ? { name: type } : {}),
      ...(v.notes ? { note: v.notes } : {}),
    });
  },
});

/** `task-revision --task --from --reason --requested-changes a,b` */
export const goTaskRevision = goVerb({
  name: "task-revision",
  summary: "Ask for a revision of the latest artifact (requester)",
  usage: "task-revision --task TASK_ID --from AGENT --reason TEXT [--requested-changes a,b]",
  flags: { task: S, from: S, reason: S, "requested-changes": S },
  required: ["task", "from", "reason"],
  call: (api, v) => {
    const changes = commaList(v["requested-changes"]) ?? [];
    const feedback = [v.reason!, ...changes.map((c) => `- ${c}`)].join("\n");
    return api.request("POST", `/v1/tasks/${v.task}/revisions`, { agent: v.from, feedback });
  },
});

/** `task-complete --task --from --message` */
export const goTaskComplete = goVerb({
  name: "task-complete",
  summary: "Complete a task, accepting its latest artifact (requester)",
  usage: "task-complete --task TASK_ID --from AGENT [--message TEXT]",
  flags: { task: S, from: S, message: S },
  required: ["task", "from"],
  call: (api, v) =>
    api.request("POST", `/v1/tasks/${v.task}/complete`, {
      agent: v.from,
      ...(v.message ? { note: v.message } : {}),
    }),
});

/** The Go verbs whose names are new here (the colliding ones are in compat.ts). */
export const GO_VERBS: readonly Command[] = [
  goHealth,
  goInviteShow,
  goFriendAdd,
  goConnectionRequest,
  goConnectionAccept,
  goTaskCreate,
  goMessageAck,
  goTasks,
  goTaskAccept,
  goTaskDecline,
  goTaskSubmit,
  goTaskRevision,
  goTaskComplete,
];
