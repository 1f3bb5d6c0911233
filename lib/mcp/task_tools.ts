/** The MCP tools for tasks: create, list, read, and every action of either party. */
import { z } from "zod";
import { FAIL_CODE_RE, TASK_STATES } from "../protocol/mod.ts";
import type { TaskDetail } from "../sdk/mod.ts";
import {
  agentArg,
  agentOf,
  defined,
  handle,
  jsonObject,
  MAX_WAIT_SECONDS,
  resolveAgent,
  taskId,
} from "./args.ts";
import { attach, filesArg } from "./file_tools.ts";
import { type Tool, tool } from "./tool.ts";

/** Progress lines a task tool returns (the newest; the daemon keeps more). */
const PROGRESS_TAIL = 20;

/** The task with only its newest progress lines (a model's context is precious). */
function progressTail(detail: TaskDetail) {
  const omitted = Math.max(0, detail.progress.length - PROGRESS_TAIL);
  return {
    ...detail,
    progress: detail.progress.slice(omitted),
    ...(omitted ? { progress_omitted: omitted } : {}),
  };
}

/** The task tools, in the order `tools/list` shows them. */
export const TASK_TOOLS: readonly Tool[] = [
  tool({
    name: "create_task",
    title: "Create a task",
    description:
      "Ask a connected remote agent to do a task. You become the requester, it the worker. " +
      "The worker accepts or declines, then submits artifacts (versions 1, 2, …); you review " +
      "each with request_revision or complete_task. Follow progress with wait_for_inbox or " +
      "get_task.",
    input: z.strictObject({
      to: handle("The worker: a connected remote agent, like @bob/writer."),
      title: z.string().min(1).max(200).describe("A short title (≤ 200 characters)."),
      instructions: z.string().max(1_000_000).describe("What to do, in full."),
      inputs: jsonObject().optional().describe(
        "Structured inputs for the worker (any JSON object).",
      ),
      deadline: z.string().optional().describe(
        "UTC deadline like 2026-11-21T20:00:00.000Z; the task expires after it.",
      ),
      max_revisions: z.number().int().min(0).max(100).optional().describe(
        "How many revision requests the task allows (default 3).",
      ),
      files: filesArg,
      agent: agentArg,
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    run: async (ctx, args) => {
      const from = await resolveAgent(ctx, args.agent);
      const { agent: _agent, files, ...rest } = args;
      return await ctx.api.createTask(defined({ from, ...rest, ...attach(files) }));
    },
  }),
  tool({
    name: "list_tasks",
    title: "List tasks",
    description: "List tasks your agents take part in (newest first), with state, your role " +
      "(local_roles) and the actions allowed to you now (allowed_actions).",
    input: z.strictObject({
      agent: agentArg,
      state: z.enum(TASK_STATES).optional().describe("Only tasks in this state."),
    }),
    annotations: { readOnlyHint: true, openWorldHint: false },
    run: async (ctx, args) => ({
      tasks: await ctx.api.tasks(
        defined({ agent: args.agent ?? ctx.defaultAgent, state: args.state }),
      ),
    }),
  }),
  tool({
    name: "get_task",
    title: "Get a task",
    description:
      "One task in full: title, instructions, inputs, state, allowed actions, its timeline " +
      "(every event with actor and delivery state), every artifact version with content, the " +
      `worker's latest progress lines (the last ${PROGRESS_TAIL}), when it failed, why ` +
      "(task.failure); `files` lists the request's and each artifact's files with id and state " +
      "(save_file).",
    input: z.strictObject({ task_id: taskId }),
    annotations: { readOnlyHint: true, openWorldHint: false },
    run: async (ctx, args) => progressTail(await ctx.api.task(args.task_id)),
  }),
  tool({
    name: "wait_for_task",
    title: "Wait for a task to change",
    description:
      "Block until a task's state changes, then return it (as get_task does): the tool to " +
      "delegate with create_task and wait for the outcome. Without `states` it waits for any " +
      "change from `from` (default: the state the task is in now); with `states` until the " +
      `task is in one of them. Waits up to wait_seconds (max ${MAX_WAIT_SECONDS}); ` +
      "changed=false means it timed out: call again. Progress lines do not end the wait; they " +
      "show in the result's progress.",
    input: z.strictObject({
      task_id: taskId,
      from: z.enum(TASK_STATES).optional().describe(
        "The state you last saw; any other state ends the wait (default: the current state).",
      ),
      states: z.array(z.enum(TASK_STATES)).min(1).max(TASK_STATES.length).optional().describe(
        'End the wait only in one of these states, e.g. ["submitted", "failed"].',
      ),
      wait_seconds: z.number().int().min(1).max(MAX_WAIT_SECONDS).optional().describe(
        "How long to wait at most (default 30).",
      ),
    }),
    annotations: { readOnlyHint: true, openWorldHint: false },
    run: async (ctx, args) => {
      const from = args.states ? args.from : args.from ?? (await ctx.api.task(args.task_id)).task
        .state;
      const detail = await ctx.api.request<TaskDetail>(
        "GET",
        `/v1/tasks/${encodeURIComponent(args.task_id)}`,
        undefined,
        defined({ wait: args.wait_seconds ?? 30, from, states: args.states?.join(",") }),
        ctx.signal,
      );
      const state = detail.task.state;
      const changed = (args.states?.includes(state) ?? false) ||
        (from !== undefined && state !== from);
      return { changed, ...progressTail(detail) };
    },
  }),
  tool({
    name: "accept_task",
    title: "Accept a task",
    description: "As the worker, accept a task in state requested. Then do it and submit_artifact.",
    input: z.strictObject({
      task_id: taskId,
      note: z.string().max(2000).optional().describe("A note for the requester."),
      agent: agentArg,
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    run: (ctx, args) =>
      ctx.api.acceptTask(args.task_id, defined({ ...agentOf(ctx, args.agent), note: args.note })),
  }),
  tool({
    name: "claim_task",
    title: "Claim an offered task",
    description: "As a candidate, claim a task offered to several agents (state offered). The " +
      "requester's daemon gives it to the first claim it receives: poll get_task until it is " +
      "accepted (yours: do it) or withdrawn (another agent took it).",
    input: z.strictObject({
      task_id: taskId,
      note: z.string().max(2000).optional().describe("A note for the requester."),
      agent: agentArg,
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    run: (ctx, args) =>
      ctx.api.claimTask(args.task_id, defined({ ...agentOf(ctx, args.agent), note: args.note })),
  }),
  tool({
    name: "decline_task",
    title: "Decline a task",
    description: "As the worker, decline a task in state requested (final).",
    input: z.strictObject({
      task_id: taskId,
      reason: z.string().max(2000).optional().describe("Why, for the requester."),
      agent: agentArg,
    }),
    annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
    run: (ctx, args) =>
      ctx.api.declineTask(
        args.task_id,
        defined({ ...agentOf(ctx, args.agent), reason: args.reason }),
      ),
  }),
  tool({
    name: "submit_artifact",
    title: "Submit an artifact",
    description:
      "As the worker, submit the result of an accepted task (or a new version after a revision " +
      "request). Versions are numbered 1, 2, … automatically.",
    input: z.strictObject({
      task_id: taskId,
      content: z.string().max(1_000_000).describe("The artifact itself (text)."),
      content_type: z.string().min(1).max(100).optional().describe(
        "MIME type (default text/markdown).",
      ),
      name: z.string().min(1).max(200).optional().describe("A file name, like haiku.md."),
      note: z.string().max(2000).optional().describe("A note for the requester."),
      files: filesArg,
      agent: agentArg,
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    run: (ctx, args) => {
      const { task_id, agent, files, ...rest } = args;
      return ctx.api.submitArtifact(
        task_id,
        defined({ ...agentOf(ctx, agent), ...rest, ...attach(files) }),
      );
    },
  }),
  tool({
    name: "report_progress",
    title: "Report progress",
    description:
      "As the worker, tell the requester how an accepted task is going (one short line). It " +
      "changes nothing in the task; the requester sees it live. Allowed while the task is " +
      "accepted or revision_requested.",
    input: z.strictObject({
      task_id: taskId,
      text: z.string().min(1).max(8000).describe("The progress line."),
      agent: agentArg,
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    run: (ctx, args) => ctx.api.progress(args.task_id, args.text, agentOf(ctx, args.agent)),
  }),
  tool({
    name: "fail_task",
    title: "Fail a task",
    description: "As the worker, give up on an accepted task (final): it becomes failed, and the " +
      "requester sees your reason. Use it when you cannot deliver; decline_task is for tasks " +
      "you never accepted.",
    input: z.strictObject({
      task_id: taskId,
      reason: z.string().min(1).max(4000).describe("Why, for the requester."),
      code: z.string().regex(FAIL_CODE_RE).optional().describe(
        "A machine-readable code, like out_of_budget (a-z, 0-9, _).",
      ),
      agent: agentArg,
    }),
    annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
    run: (ctx, args) =>
      ctx.api.failTask(args.task_id, args.reason, args.code, agentOf(ctx, args.agent)),
  }),
  tool({
    name: "request_revision",
    title: "Request a revision",
    description:
      "As the requester, send the latest artifact back with feedback; the worker answers with a " +
      "new version. Bounded by the task's max_revisions.",
    input: z.strictObject({
      task_id: taskId,
      feedback: z.string().min(1).max(1_000_000).describe("What to change."),
      artifact_version: z.number().int().min(1).optional().describe(
        "The version reviewed (default: the latest).",
      ),
      agent: agentArg,
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    run: (ctx, args) => {
      const { task_id, agent, ...rest } = args;
      return ctx.api.requestRevision(task_id, defined({ ...agentOf(ctx, agent), ...rest }));
    },
  }),
  tool({
    name: "complete_task",
    title: "Complete a task",
    description: "As the requester, accept the submitted artifact and close the task (final).",
    input: z.strictObject({
      task_id: taskId,
      note: z.string().max(2000).optional().describe("A note for the worker."),
      artifact_version: z.number().int().min(1).optional().describe(
        "The version accepted (default: the latest).",
      ),
      agent: agentArg,
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
    run: (ctx, args) => {
      const { task_id, agent, ...rest } = args;
      return ctx.api.completeTask(task_id, defined({ ...agentOf(ctx, agent), ...rest }));
    },
  }),
  tool({
    name: "cancel_task",
    title: "Cancel a task",
    description: "As the requester, cancel a task that is not finished yet (final).",
    input: z.strictObject({
      task_id: taskId,
      reason: z.string().max(2000).optional().describe("Why, for the worker."),
      agent: agentArg,
    }),
    annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
    run: (ctx, args) =>
      ctx.api.cancelTask(
        args.task_id,
        defined({ ...agentOf(ctx, args.agent), reason: args.reason }),
      ),
  }),
];
