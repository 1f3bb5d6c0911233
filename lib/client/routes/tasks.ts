/** `/v1/tasks`: create, list, read, act on tasks, and the owner's gate decisions. */
import { Hono } from "hono";
import { z } from "zod";
import {
  fail,
  HandleSchema,
  MAX_RECIPIENTS,
  PAYLOAD_SCHEMAS,
  TASK_STATES,
  type TaskState,
} from "../../protocol/mod.ts";
import { readJson } from "../../http/mod.ts";
import type { Daemon } from "../daemon.ts";
import { actingAgent, requireVisibleTask } from "../guards/principal.ts";
import {
  artifactOf,
  createTask,
  decideGate,
  listTasks,
  TASK_ACTIONS,
  taskAction,
  type TaskActionName,
  taskDetail,
  waitForTaskState,
} from "../tasks/mod.ts";
import { DEFAULT_DAEMON_OPTIONS } from "../options.ts";
import { type FileInput, FileInputsSchema } from "../files/attach.ts";
import { intParam } from "./params.ts";

/** `to`: one handle, several (an offer), or `cap:NAME` (every connected peer advertising it). */
const TaskTarget = z.union([
  HandleSchema,
  z.string().regex(/^cap:[\w.:-]{1,64}$/, "cap:NAME"),
  z.array(HandleSchema).min(1).max(MAX_RECIPIENTS),
]);
// Files are given as paths or posted file ids (files/attach.ts), described before sending.
const Files = { files: FileInputsSchema.optional() };
const TaskBody = PAYLOAD_SCHEMAS.task_request.extend({
  from: HandleSchema,
  to: TaskTarget,
  // With `cap:NAME`: only the peers online now (presence); none online is no_candidates.
  online_only: z.boolean().optional(),
  ...Files,
});
const Agent = { agent: HandleSchema.optional() };
const ACTION_BODIES: Record<TaskActionName, z.ZodType> = {
  accept: PAYLOAD_SCHEMAS.task_accept.extend(Agent),
  decline: PAYLOAD_SCHEMAS.task_decline.extend(Agent),
  artifacts: PAYLOAD_SCHEMAS.artifact_submit.omit({ version: true }).extend({ ...Agent, ...Files }),
  revisions: PAYLOAD_SCHEMAS.revision_request.partial({ artifact_version: true }).extend(Agent),
  complete: PAYLOAD_SCHEMAS.task_complete.extend(Agent),
  cancel: PAYLOAD_SCHEMAS.task_cancel.extend(Agent),
  progress: PAYLOAD_SCHEMAS.task_progress.extend(Agent),
  fail: PAYLOAD_SCHEMAS.task_fail.extend(Agent),
  claim: PAYLOAD_SCHEMAS.task_claim.extend(Agent),
};
const GateBody = z.strictObject({ reason: z.string().max(2000).optional() });
const Empty = z.strictObject({});

/** A task state query parameter (undefined when absent). */
function stateParam(value: string | undefined, name: string): TaskState | undefined {
  if (!value) return undefined;
  if (!(TASK_STATES as readonly string[]).includes(value)) {
    throw fail("validation_failed", `${name} must be one of ${TASK_STATES.join(", ")}`);
  }
  return value as TaskState;
}

/** The task routes. */
export function taskRoutes(d: Daemon): Hono {
  const app = new Hono();
  app.post("/tasks", async (c) => {
    const { files, ...body } = await readJson(c, TaskBody);
    actingAgent(c, body.from);
    const refs = files ? { files: await d.files.prepare(files) } : {};
    return c.json(await createTask(d, { ...body, ...refs }), 202);
  });
  app.get("/tasks", (c) => {
    const state = stateParam(c.req.query("state"), "state");
    return c.json({ tasks: listTasks(d, { agent: actingAgent(c, c.req.query("agent")), state }) });
  });
  app.get("/tasks/:id", async (c) => {
    requireVisibleTask(c, d, c.req.param("id"));
    const wait = intParam(c.req.query("wait"), "wait", 0, DEFAULT_DAEMON_OPTIONS.maxWaitSeconds, 0);
    const from = stateParam(c.req.query("from"), "from");
    const states = c.req.query("states")?.split(",").map((s) => stateParam(s, "states")!);
    if (wait === 0) return c.json(taskDetail(d, c.req.param("id")));
    if (!from && !states) {
      throw fail("validation_failed", "wait needs from=STATE or states=A,B: what to wait for");
    }
    return c.json(await waitForTaskState(d, c.req.param("id"), { from, states }, wait));
  });
  app.get("/tasks/:id/artifacts/:version", (c) => {
    requireVisibleTask(c, d, c.req.param("id"));
    const version = intParam(c.req.param("version"), "version", 1, 1_000_000, 1);
    return c.json({ artifact: artifactOf(d, c.req.param("id"), version) });
  });
  for (const action of Object.keys(TASK_ACTIONS) as TaskActionName[]) {
    app.post(`/tasks/:id/${action}`, async (c) => {
      const body = await readJson(c, ACTION_BODIES[action]) as Record<string, unknown>;
      requireVisibleTask(c, d, c.req.param("id"));
      const agent = actingAgent(c, body.agent as string | undefined);
      if (agent !== undefined) body.agent = agent;
      if (body.files) body.files = await d.files.prepare(body.files as FileInput[]);
      return c.json(await taskAction(d, c.req.param("id"), action, body), 202);
    });
  }
  // A heartbeat renews the worker's lease on an offered task: a `task_progress` saying so.
  app.post("/tasks/:id/heartbeat", async (c) => {
    const body = await readJson(c, z.strictObject(Agent));
    requireVisibleTask(c, d, c.req.param("id"));
    const agent = actingAgent(c, body.agent);
    const input = { text: "heartbeat", ...(agent !== undefined ? { agent } : {}) };
    return c.json(await taskAction(d, c.req.param("id"), "progress", input), 202);
  });
  app.post("/tasks/:id/approve", async (c) => {
    await readJson(c, Empty);
    return c.json(await decideGate(d, c.req.param("id"), true));
  });
  app.post("/tasks/:id/reject", async (c) => {
    const body = await readJson(c, GateBody);
    return c.json(await decideGate(d, c.req.param("id"), false, body.reason));
  });
  return app;
}
