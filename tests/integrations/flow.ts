/**
 * The whole Go-plugin tool flow against two live daemons, for any plugin whose tools can be
 * called as `call(env, tool, args)`: every one of the 15 tools, the revision loop, inbox
 * filtering, and the error the Go plugin gave for a wrong token.
 */
import { assert, assertEquals } from "../assert.ts";
import { startTestRelay } from "../relay/sim.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../client/world.ts";

/** Calls one tool with the daemon environment `env`; throws `Error(message)` on a tool error. */
// deno-lint-ignore no-explicit-any
export type CallTool = (env: Record<string, string>, tool: string, args: unknown) => Promise<any>;

/** The 15 tool names of the Go TaskFerry plugins. */
export const GO_TOOLS = [
  "taskferry_health",
  "taskferry_register_agent",
  "taskferry_show_invite",
  "taskferry_add_friend",
  "taskferry_request_connection",
  "taskferry_accept_connection",
  "taskferry_create_task",
  "taskferry_check_inbox",
  "taskferry_ack_message",
  "taskferry_list_tasks",
  "taskferry_accept_task",
  "taskferry_decline_task",
  "taskferry_submit_artifact",
  "taskferry_request_revision",
  "taskferry_complete_task",
];

const A = "@alice/requester";
const B = "@bob/writer";

/** Runs the flow; returns the error message a wrong token produced. */
export async function toolFlow(call: CallTool): Promise<{ wrongToken: string }> {
  const relay = await startTestRelay({ retryBaseMs: 200 });
  const daemons: TestDaemon[] = [];
  try {
    const alice = await startTestDaemon(relay, "alice");
    daemons.push(alice);
    const bob = await startTestDaemon(relay, "bob");
    daemons.push(bob);
    const envOf = (d: TestDaemon) => ({
      TASKFERRY_LOCAL_URL: `http://127.0.0.1:${d.port}`,
      TASKFERRY_LOCAL_API_TOKEN: d.token,
    });
    const a = (tool: string, args: unknown = {}) => call(envOf(alice), `taskferry_${tool}`, args);
    const b = (tool: string, args: unknown = {}) => call(envOf(bob), `taskferry_${tool}`, args);

    assertEquals((await a("health")).client_id, "alice");
    const agent = (await a("register_agent", {
      handle: A,
      tagline: "Available for TaskFerry work.",
      capabilities: "code,review",
    })).agent;
    assertEquals(agent.capabilities, ["code", "review"]);
    assertEquals(agent.description, "Available for TaskFerry work.");
    await b("register_agent", { handle: B, public_profile: true, capabilities: ["writing"] });
    await eventually(async () =>
      (await alice.api.health()).relay.connected && (await bob.api.health()).relay.connected
    );
    const invite = (await b("show_invite", { agent: B })).invite.url;
    assertEquals(
      (await a("add_friend", { from: A, invite, message: "hi" })).connection.state,
      "pending_out",
    );
    await bob.api.waitForInbox(B, (m) => m.type === "connection_request", { timeoutMs: 5000 });
    const inbox = await b("check_inbox", { agent: B });
    const request = inbox.items.find((m: { type: string }) => m.type === "connection_request");
    assertEquals(request.from, A);
    assertEquals(
      (await b("accept_connection", { from: B, to: A })).connection.state,
      "connected",
    );
    await alice.api.createAgent({ handle: "@alice/second" });
    const asked = await a("request_connection", { from: "@alice/second", to: B, message: "x" });
    assertEquals(asked.connection.state, "pending_out");
    await eventually(async () => (await alice.api.connections(A))[0]?.state === "connected");

    const task = (await a("create_task", {
      from: A,
      to: B,
      title: "Ad lines",
      description: "Three lines.",
      requirements: ["short", "fun"],
      expected_format: "json",
    })).task;
    assertEquals(task.max_revisions, 3);
    assertEquals(task.inputs, { requirements: ["short", "fun"], expected_format: "json" });
    await eventually(async () => (await bob.api.tasks()).some((t) => t.id === task.id));
    assert((await b("list_tasks")).tasks.some((t: { id: string }) => t.id === task.id));
    assertEquals((await b("accept_task", { task_id: task.id, from: B })).task.state, "accepted");
    const v1 = await b("submit_artifact", {
      task_id: task.id,
      from: B,
      content: { lines: ["one"] },
      notes: "First draft.",
    });
    assertEquals(v1.task.artifact_version, 1);
    await eventually(async () => (await alice.api.task(task.id)).task.state === "submitted");
    const revision = await a("request_revision", {
      task_id: task.id,
      from: A,
      reason: "More.",
      requested_changes: "shorter,funnier",
    });
    assertEquals(revision.task.state, "revision_requested");
    await eventually(async () => (await bob.api.task(task.id)).task.state === "revision_requested");
    await b("submit_artifact", { task_id: task.id, from: B, content: null });
    assertEquals(JSON.parse((await bob.api.artifact(task.id, 2)).content), {}, "null means {}");
    await eventually(async () => (await alice.api.task(task.id)).task.artifact_version === 2);
    const done = await a("complete_task", { task_id: task.id, from: A, message: "thanks" });
    assertEquals(done.task.state, "completed");

    assertEquals((await b("ack_message", { message_id: request.id })).message.state, "processed");
    const left = await b("check_inbox", { agent: B });
    assert(!left.items.some((m: { id: string }) => m.id === request.id), "acked item listed");
    const all = await b("check_inbox", { agent: B, unprocessed: false });
    assert(all.items.some((m: { id: string }) => m.id === request.id));

    const second = (await a("create_task", { from: A, to: B, title: "T2", description: "x" }))
      .task;
    await eventually(async () => (await bob.api.tasks()).some((t) => t.id === second.id));
    const declined = await b("decline_task", { task_id: second.id, from: B, reason: "busy" });
    assertEquals(declined.task.state, "declined");

    let wrongToken = "";
    await call({ ...envOf(alice), TASKFERRY_LOCAL_API_TOKEN: "wrong" }, "taskferry_list_tasks", {})
      .then(() => assert(false, "a wrong token was accepted"), (e) => wrongToken = e.message);
    return { wrongToken };
  } finally {
    for (const d of daemons) await d.close().catch(() => {});
    await relay.close();
    for (const d of daemons) await Deno.remove(d.home, { recursive: true }).catch(() => {});
  }
}
