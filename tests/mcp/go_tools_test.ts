/**
 * The Go TaskFerry MCP tool names (`taskferry_*`, lib/mcp/go_tools.ts): each one called with
 * the Go server's argument names through a real `taskferry mcp` process, driven by the MCP
 * SDK's Client, against a live world (alice's and bob's daemons on a relay). Arrivals are awaited
 * with the daemon's inbox long poll, then read back through the tools.
 */
import { Client } from "@modelcontextprotocol/sdk/client";
import * as stdioModule from "@modelcontextprotocol/sdk/client/stdio.js";
import type * as StdioTypes from "@modelcontextprotocol/sdk/client/stdio";
import { assert, assertEquals } from "../assert.ts";
import { startWorld, type TestDaemon } from "../client/world.ts";
import { daemonEnv, DENO, MAIN, TOOL_NAMES } from "./env.ts";

const { StdioClientTransport } = stdioModule as typeof StdioTypes;

function assertMatch(text: string, re: RegExp) {
  assert(re.test(text), `${JSON.stringify(text)} should match ${re}`);
}

/** The Go server's 15 tools, in its order. */
const GO_NAMES = ("health register_agent show_invite add_friend request_connection " +
  "accept_connection create_task check_inbox ack_message list_tasks accept_task decline_task " +
  "submit_artifact request_revision complete_task").split(" ").map((n) => `taskferry_${n}`);

type Item = { id: string; type: string; from: string; task_id?: string; state: string };
type Text = { type: string; text: string }[];

/**
 * `taskferry mcp` for `daemon`; `tools` null = the env var unset (the default set). `goEnv`:
 * configured as the Go `taskferry-mcp` entry was (TASKFERRY_LOCAL_URL, no TASKFERRY_CLIENT_URL).
 */
async function mcp(daemon: TestDaemon, tools: string | null = "go", goEnv = false) {
  const env = daemonEnv(daemon);
  delete env.TASKFERRY_MCP_TOOLS;
  if (tools !== null) env.TASKFERRY_MCP_TOOLS = tools;
  if (goEnv) {
    env.TASKFERRY_LOCAL_URL = env.TASKFERRY_CLIENT_URL!;
    delete env.TASKFERRY_CLIENT_URL;
  }
  const transport = new StdioClientTransport({
    command: DENO,
    args: ["run", "-A", MAIN, "mcp"],
    env,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (c: Uint8Array) => (stderr += new TextDecoder().decode(c)));
  const client = new Client({ name: "go-tools-test", version: "1.0.0" });
  await client.connect(transport);
  const call = (name: string, args: Record<string, unknown> = {}) =>
    client.callTool({ name, arguments: args });
  const ok = async <T = Record<string, unknown>>(name: string, a: Record<string, unknown> = {}) => {
    const result = await call(name, a);
    const text = (result.content as Text)[0]?.text ?? "";
    assert(!result.isError, `${name} failed: ${text}\n${stderr}`);
    return JSON.parse(text) as T;
  };
  const fails = async (name: string, a: Record<string, unknown>) => {
    const result = await call(name, a);
    assert(result.isError === true, `${name} should fail`);
    return (result.content as Text)[0]!.text;
  };
  const inbox = async (agent: string, unprocessed?: boolean) =>
    (await ok<{ items: Item[] }>("taskferry_check_inbox", {
      agent,
      ...(unprocessed === undefined ? {} : { unprocessed }),
    })).items;
  return { client, ok, fails, inbox, stderr: () => stderr };
}

Deno.test("mcp go tools: --tools / TASKFERRY_MCP_TOOLS choose the sets; default all", async () => {
  const w = await startWorld();
  const all = await mcp(w.alice, null);
  const go = await mcp(w.alice, "go");
  const current = await mcp(w.alice, "current");
  try {
    const names = async (c: Client) => (await c.listTools()).tools.map((t) => t.name);
    assertEquals(await names(all.client), [...TOOL_NAMES, ...GO_NAMES]);
    assertEquals(await names(go.client), GO_NAMES);
    assertEquals(await names(current.client), TOOL_NAMES);
    const { tools } = await go.client.listTools();
    // Strict schemas, as the Go tools' were.
    for (const t of tools) assertEquals(t.inputSchema.additionalProperties, false, t.name);
    // The same names, argument names and required arguments as the Hermes plugin's schemas
    // (integrations/hermes-plugin/schemas.py, the Go tools' reference).
    const dump = "import json,sys; sys.path.insert(0, sys.argv[1]); import schemas; " +
      "print(json.dumps(schemas.TOOLS))";
    const plugin = new URL("../../integrations/hermes-plugin", import.meta.url).pathname;
    // -B: no bytecode in the plugin directory.
    const py = await new Deno.Command("python3", { args: ["-B", "-c", dump, plugin] }).output();
    assertEquals(py.code, 0, new TextDecoder().decode(py.stderr));
    const hermes = JSON.parse(new TextDecoder().decode(py.stdout)) as {
      name: string;
      parameters: { properties: Record<string, unknown>; required: string[] };
    }[];
    assertEquals(hermes.map((h) => h.name), GO_NAMES);
    for (const h of hermes) {
      const mine = tools.find((t) => t.name === h.name)!.inputSchema;
      assertEquals(
        Object.keys(mine.properties ?? {}).sort(),
        Object.keys(h.parameters.properties).sort(),
        h.name,
      );
      assertEquals([...(mine.required ?? [])].sort(), [...h.parameters.required].sort(), h.name);
    }
    // A bad set is a usage error (exit 2) naming the choices.
    const out = await new Deno.Command(DENO, {
      args: ["run", "-A", MAIN, "mcp", "--tools", "golang"],
      env: daemonEnv(w.alice),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 2);
    assertMatch(new TextDecoder().decode(out.stderr), /--tools takes current, go or all/);
  } finally {
    await Promise.all([all.client.close(), go.client.close(), current.client.close()]);
    await w.close();
  }
});

Deno.test("mcp go tools: every taskferry_* tool, with the Go argument names, between two daemons", async () => {
  const w = await startWorld();
  const alice = await mcp(w.alice);
  const bob = await mcp(w.bob, "go", true);
  try {
    // taskferry_health (bob's server found its daemon by the Go TASKFERRY_LOCAL_URL)
    const health = await alice.ok<{ relay: { connected: boolean } }>("taskferry_health");
    assertEquals(health.relay.connected, true);
    assertEquals((await bob.ok<{ client_id: string }>("taskferry_health")).client_id, "bob");
    assertMatch(bob.stderr(), /TASKFERRY_LOCAL_URL is deprecated; use TASKFERRY_CLIENT_URL/);

    // taskferry_register_agent: Go names (tagline, comma list, public_profile).
    const made = await alice.ok<{ agent: { handle: string; description: string } }>(
      "taskferry_register_agent",
      {
        handle: "@alice/helper",
        display_name: "Helper",
        tagline: "Available for TaskFerry work.",
        description: "Reviews code.",
        capabilities: "code, review",
        public_profile: false,
      },
    );
    assertEquals(made.agent.handle, "@alice/helper");
    assertEquals(made.agent.description, "Available for TaskFerry work.\n\nReviews code.");
    const helper = (await w.alice.api.agents()).find((a) => a.handle === "@alice/helper")!;
    assertEquals(helper.capabilities, ["code", "review"]);
    assert(
      (await alice.fails("taskferry_register_agent", { handle: "@bob/stolen" })).length > 0,
      "a handle outside the client's namespace is refused",
    );

    // taskferry_show_invite → taskferry_add_friend → taskferry_accept_connection
    const { invite } = await alice.ok<{ invite: { url: string } }>("taskferry_show_invite", {
      agent: "@alice/helper",
    });
    assertMatch(invite.url, /^taskferry:\/\//);
    await bob.ok("taskferry_add_friend", {
      from: "@bob/writer",
      invite: invite.url,
      message: "via invite",
    });
    await w.alice.api.waitForInbox("@alice/helper", (m) => m.type === "connection_request");
    const asked = (await alice.inbox("@alice/helper")).find((m) => m.type === "connection_request");
    assertEquals(asked?.from, "@bob/writer");
    await alice.ok("taskferry_accept_connection", { from: "@alice/helper", to: "@bob/writer" });
    await w.bob.api.waitForInbox("@bob/writer", (m) => m.type === "connection_accept");

    // taskferry_request_connection, by handle (bob's new agent asks alice's requester).
    await bob.ok("taskferry_register_agent", { handle: "@bob/reviewer", capabilities: ["qa"] });
    await bob.ok("taskferry_request_connection", {
      from: "@bob/reviewer",
      to: "@alice/requester",
      message: "hello",
    });
    await w.alice.api.waitForInbox("@alice/requester", (m) => m.type === "connection_request");
    await alice.ok("taskferry_accept_connection", {
      from: "@alice/requester",
      to: "@bob/reviewer",
    });
    await w.bob.api.waitForInbox("@bob/reviewer", (m) => m.type === "connection_accept");
    const conns = await w.bob.api.connections("@bob/reviewer");
    assertEquals(conns.map((c) => [c.peer, c.state]), [["@alice/requester", "connected"]]);

    // taskferry_create_task (requirements as a comma string) → accept → submit → revision →
    // submit → complete; taskferry_list_tasks on both sides.
    const created = await alice.ok<{ task: { id: string } }>("taskferry_create_task", {
      from: "@alice/requester",
      to: "@bob/writer",
      title: "Three ad lines",
      description: "Write three lines.",
      requirements: "short, fantasy",
      max_revisions: 2,
      expected_format: "one line each",
    });
    const taskId = created.task.id;
    const detail = await w.alice.api.task(taskId);
    assertEquals(detail.task.inputs, {
      requirements: ["short", "fantasy"],
      expected_format: "one line each",
    });
    assertEquals(detail.task.max_revisions, 2);
    await w.bob.api.waitForInbox("@bob/writer", (m) => m.type === "task_request");
    const request = (await bob.inbox("@bob/writer")).find((m) => m.task_id === taskId);
    assertEquals(request?.type, "task_request");
    await bob.ok("taskferry_accept_task", { task_id: taskId, from: "@bob/writer", message: "ok" });
    await bob.ok("taskferry_submit_artifact", {
      task_id: taskId,
      from: "@bob/writer",
      content: { lines: ["a", "b", "c"] },
      notes: "First draft.",
    });
    await w.alice.api.waitForInbox("@alice/requester", (m) => m.type === "artifact_submit");
    await alice.ok("taskferry_request_revision", {
      task_id: taskId,
      from: "@alice/requester",
      reason: "Too plain.",
      requested_changes: ["more color", "shorter"],
    });
    await w.bob.api.waitForInbox("@bob/writer", (m) => m.type === "revision_request");
    await bob.ok("taskferry_submit_artifact", {
      task_id: taskId,
      from: "@bob/writer",
      content: null,
      artifact_type: "ads.json",
    });
    await w.alice.api.waitForInbox(
      "@alice/requester",
      (m) => m.type === "artifact_submit" && m.payload.version === 2,
    );
    await alice.ok("taskferry_complete_task", {
      task_id: taskId,
      from: "@alice/requester",
      message: "thanks",
    });
    const full = await w.alice.api.task(taskId);
    assertEquals(full.task.state, "completed");
    const [v1, v2] = full.artifacts;
    assertEquals(JSON.parse(v1!.content), { lines: ["a", "b", "c"] });
    assertEquals(v1!.content_type, "application/json");
    assertEquals(v2!.content, "{}");
    assertEquals(v2!.name, "ads.json");
    const revision = full.events.find((e) => e.type === "revision_request");
    assertEquals(revision?.data.feedback, "Too plain.\n- more color\n- shorter");
    await w.bob.api.waitForInbox("@bob/writer", (m) => m.type === "task_complete");
    for (const side of [alice, bob]) {
      const { tasks } = await side.ok<{ tasks: { id: string; state: string }[] }>(
        "taskferry_list_tasks",
      );
      assertEquals(tasks.find((t) => t.id === taskId)?.state, "completed");
    }

    // taskferry_decline_task
    const second = await alice.ok<{ task: { id: string } }>("taskferry_create_task", {
      from: "@alice/requester",
      to: "@bob/writer",
      title: "Another",
      description: "Or not.",
    });
    assertEquals((await w.alice.api.task(second.task.id)).task.max_revisions, 3);
    await w.bob.api.waitForInbox("@bob/writer", (m) => m.task_id === second.task.id);
    await bob.ok("taskferry_decline_task", {
      task_id: second.task.id,
      from: "@bob/writer",
      reason: "busy",
    });
    assertEquals((await w.bob.api.task(second.task.id)).task.state, "declined");

    // taskferry_ack_message: acked items leave the default (unprocessed) inbox only.
    const before = await bob.inbox("@bob/writer");
    assert(before.length > 0);
    const first = before[0]!;
    await bob.ok("taskferry_ack_message", { message_id: first.id });
    assert(!(await bob.inbox("@bob/writer")).some((m) => m.id === first.id));
    const every = await bob.inbox("@bob/writer", false);
    assertEquals(every.find((m) => m.id === first.id)?.state, "processed");

    // Go argument names are required; ours are not accepted in their place.
    assertMatch(
      await alice.fails("taskferry_accept_task", { task_id: taskId, agent: "@alice/requester" }),
      /^validation_failed: /,
    );
    assertMatch(
      await bob.fails("taskferry_accept_task", { task_id: "task_nope", from: "@bob/writer" }),
      /^[a-z_]+: /,
    );
  } finally {
    await Promise.all([alice.client.close(), bob.client.close()]);
    await w.close();
  }
});
