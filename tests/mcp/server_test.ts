/**
 * `taskferry mcp` as an MCP host runs it: a child process on stdio, driven by the SDK's own
 * Client + StdioClientTransport, against a test world (alice's and bob's daemons).
 */
import { Client } from "@modelcontextprotocol/sdk/client";
import * as stdioModule from "@modelcontextprotocol/sdk/client/stdio.js";
import type * as StdioTypes from "@modelcontextprotocol/sdk/client/stdio";
import * as typesModule from "@modelcontextprotocol/sdk/types.js";
import type * as Types from "@modelcontextprotocol/sdk/types";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { startWorld, type TestDaemon } from "../client/world.ts";
import { daemonEnv, DENO, MAIN, TOOL_NAMES } from "./env.ts";

// Typed like lib/mcp/sdk.ts: these subpaths resolve types only without the `.js`.
const { StdioClientTransport } = stdioModule as typeof StdioTypes;
const { McpError } = typesModule as typeof Types;

type Result = Awaited<ReturnType<Client["callTool"]>>;

/** An MCP client connected to `taskferry mcp` for `daemon`; stderr kept for failures. */
async function connect(daemon: TestDaemon, args: string[] = []) {
  const transport = new StdioClientTransport({
    command: DENO,
    args: ["run", "-A", MAIN, "mcp", ...args],
    env: daemonEnv(daemon),
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => (stderr += new TextDecoder().decode(chunk)));
  const client = new Client({ name: "taskferry-test", version: "1.0.0" });
  await client.connect(transport);
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const result = await client.callTool({ name, arguments: args }) as Result;
    return result;
  };
  /** Calls a tool that must succeed; returns its structured result. */
  const ok = async <T = Record<string, unknown>>(name: string, a: Record<string, unknown> = {}) => {
    const result = await call(name, a);
    const text = (result.content as { type: string; text: string }[])[0]?.text ?? "";
    assert(!result.isError, `${name} failed: ${text}\n${stderr}`);
    assertEquals(JSON.parse(text), result.structuredContent, "text and structured agree");
    return result.structuredContent as T;
  };
  return { client, call, ok, stderr: () => stderr };
}

function errorText(result: Result): string {
  assert(result.isError === true, "expected isError");
  return (result.content as { type: string; text: string }[])[0]!.text;
}

Deno.test("mcp: tools over stdio against a daemon; a whole task flow between two MCP servers", async (t) => {
  const w = await startWorld();
  const alice = await connect(w.alice);
  const bob = await connect(w.bob, ["--agent", "@bob/writer"]);
  try {
    await t.step("initialize and tools/list", async () => {
      assertEquals(alice.client.getServerVersion()?.name, "taskferry");
      assert(alice.client.getInstructions()?.includes("create_task"));
      const { tools } = await alice.client.listTools();
      assertEquals(tools.map((x) => x.name), TOOL_NAMES);
      for (const tool of tools) {
        assert((tool.description ?? "").length > 30, `${tool.name} has a useful description`);
        assertEquals(tool.inputSchema.type, "object");
      }
      const send = tools.find((x) => x.name === "send_message")!;
      assert(Object.keys(send.inputSchema.properties ?? {}).includes("to"));
      assertEquals(tools.find((x) => x.name === "get_task")!.inputSchema.required, ["task_id"]);
      assertEquals(tools.find((x) => x.name === "whoami")!.annotations?.readOnlyHint, true);
    });

    await t.step("whoami and list_connections", async () => {
      const me = await alice.ok<{ agents: { handle: string }[]; default_agent: string }>("whoami");
      assertEquals(me.agents.map((a) => a.handle), ["@alice/requester"]);
      assertEquals(me.default_agent, "@alice/requester");
      const { connections } = await alice.ok<{ connections: { peer: string; state: string }[] }>(
        "list_connections",
      );
      assertEquals(connections.map((c) => [c.peer, c.state]), [["@bob/writer", "connected"]]);
    });

    await t.step("send_message arrives in the peer's inbox; wait_for_inbox and ack", async () => {
      const sent = await alice.ok<{ message: { id: string } }>("send_message", {
        to: "@bob/writer",
        text: "hello over MCP",
      });
      const page = await bob.ok<{ items: { id: string; payload: { text?: string } }[] }>(
        "wait_for_inbox",
        { type: "message", wait_seconds: 10 },
      );
      const item = page.items.find((m) => m.id === sent.message.id);
      assertEquals(item?.payload.text, "hello over MCP");
      // The server remembers the cursor: nothing new now.
      const again = await bob.ok<{ items: unknown[] }>("wait_for_inbox", {
        type: "message",
        wait_seconds: 0,
      });
      assertEquals(again.items, []);
      const acked = await bob.ok<{ message: { state: string } }>("ack_message", {
        message_id: sent.message.id,
        state: "processed",
      });
      assertEquals(acked.message.state, "processed");
    });

    await t.step("create_task → accept → artifact → revision → v2 → complete", async () => {
      const created = await alice.ok<{ task: { id: string; state: string } }>("create_task", {
        to: "@bob/writer",
        title: "Haiku over MCP",
        instructions: "Three lines about a ferry.",
        max_revisions: 2,
      });
      const id = created.task.id;
      assertEquals(created.task.state, "requested");
      const req = await bob.ok<{ items: { task_id?: string }[] }>("wait_for_inbox", {
        type: "task_request",
        wait_seconds: 10,
      });
      assert(req.items.some((m) => m.task_id === id), "bob sees the task_request");
      await bob.ok("accept_task", { task_id: id, note: "On it." });
      await bob.ok("submit_artifact", { task_id: id, content: "ferry, v1", name: "haiku.md" });
      const v1 = await alice.ok<{ items: { task_id?: string; payload: { version?: number } }[] }>(
        "wait_for_inbox",
        { type: "artifact_submit", wait_seconds: 10 },
      );
      assertEquals(v1.items.find((m) => m.task_id === id)?.payload.version, 1);
      await alice.ok("request_revision", { task_id: id, feedback: "more fog" });
      await bob.ok("wait_for_inbox", { type: "revision_request", wait_seconds: 10 });
      await bob.ok("submit_artifact", { task_id: id, content: "ferry in fog, v2" });
      await alice.ok("wait_for_inbox", { type: "artifact_submit", wait_seconds: 10 });
      const done = await alice.ok<{ task: { state: string } }>("complete_task", { task_id: id });
      assertEquals(done.task.state, "completed");
      const detail = await alice.ok<
        { artifacts: { content: string }[]; task: { revisions: number } }
      >(
        "get_task",
        { task_id: id },
      );
      assertEquals(detail.artifacts.map((a) => a.content), ["ferry, v1", "ferry in fog, v2"]);
      assertEquals(detail.task.revisions, 1);
      const listed = await alice.ok<{ tasks: { id: string }[] }>("list_tasks", {
        state: "completed",
      });
      assert(listed.tasks.some((x) => x.id === id));
    });

    await t.step("cancel and decline", async () => {
      const a = await alice.ok<{ task: { id: string } }>("create_task", {
        to: "@bob/writer",
        title: "To cancel",
        instructions: "-",
      });
      const cancelled = await alice.ok<{ task: { state: string } }>("cancel_task", {
        task_id: a.task.id,
        reason: "changed my mind",
      });
      assertEquals(cancelled.task.state, "cancelled");
      const b = await alice.ok<{ task: { id: string } }>("create_task", {
        to: "@bob/writer",
        title: "To decline",
        instructions: "-",
      });
      for (let i = 0; i < 10; i++) {
        const page = await bob.ok<{ items: { task_id?: string }[] }>("wait_for_inbox", {
          type: "task_request",
          wait_seconds: 5,
        });
        if (page.items.some((m) => m.task_id === b.task.id)) break;
      }
      const declined = await bob.ok<{ task: { state: string } }>("decline_task", {
        task_id: b.task.id,
        reason: "busy",
      });
      assertEquals(declined.task.state, "declined");
    });

    await t.step(
      "wait_for_task, report_progress, get_task's progress tail, fail_task",
      async () => {
        const created = await alice.ok<{ task: { id: string } }>("create_task", {
          to: "@bob/writer",
          title: "Delegate and wait",
          instructions: "-",
        });
        const id = created.task.id;
        // Alice blocks until the task leaves `requested`; bob accepts meanwhile.
        const waiting = alice.ok<{ changed: boolean; task: { state: string } }>("wait_for_task", {
          task_id: id,
          from: "requested",
          wait_seconds: 20,
        });
        for (let i = 0; i < 10; i++) {
          const page = await bob.ok<{ items: { task_id?: string }[] }>("wait_for_inbox", {
            type: "task_request",
            wait_seconds: 5,
          });
          if (page.items.some((m) => m.task_id === id)) break;
        }
        await bob.ok("accept_task", { task_id: id });
        const accepted = await waiting;
        assertEquals([accepted.changed, accepted.task.state], [true, "accepted"]);
        await bob.ok("report_progress", { task_id: id, text: "halfway there" });
        const failing = alice.ok<
          {
            changed: boolean;
            task: { state: string; failure?: { reason: string; code?: string; at: string } };
            progress: { text: string }[];
          }
        >("wait_for_task", { task_id: id, states: ["submitted", "failed"], wait_seconds: 20 });
        const seen = await alice.ok<{ progress: { text: string; from: string }[] }>("get_task", {
          task_id: id,
        });
        // The line may still be on its way when get_task runs; the failed task must carry it.
        await bob.ok("fail_task", { task_id: id, reason: "no ink left", code: "out_of_ink" });
        const failed = await failing;
        assertEquals([failed.changed, failed.task.state], [true, "failed"]);
        assertEquals(failed.task.failure, {
          reason: "no ink left",
          code: "out_of_ink",
          at: (failed.task.failure as { at: string }).at,
        });
        assertEquals(failed.progress.map((p) => p.text), ["halfway there"]);
        assert(seen.progress.every((p) => p.from === "@bob/writer"));
        // Nothing changes any more: a bounded wait answers changed=false.
        const idle = await alice.ok<{ changed: boolean }>("wait_for_task", {
          task_id: id,
          wait_seconds: 1,
        });
        assertEquals(idle.changed, false);
        const late = await bob.call("report_progress", { task_id: id, text: "too late" });
        assert(errorText(late).startsWith("illegal_transition: "), errorText(late));
      },
    );

    await t.step("tool failures are isError results with catalogue codes", async () => {
      const unknownTask = await alice.call("accept_task", {
        task_id: "task_01JDQ7ZZZZZZZZZZZZZZZZZZZZ",
      });
      assert(errorText(unknownTask).startsWith("task_not_found: "), errorText(unknownTask));
      const notConnected = await alice.call("send_message", { to: "@carol/x", text: "hi" });
      assert(errorText(notConnected).startsWith("not_connected: "), errorText(notConnected));
      const invalid = await alice.call("send_message", { to: "@bob/writer" });
      assert(errorText(invalid).startsWith("validation_failed: "), errorText(invalid));
      const badHandle = await alice.call("create_task", {
        to: "bob",
        title: "x",
        instructions: "y",
      });
      assert(errorText(badHandle).startsWith("validation_failed: to: "), errorText(badHandle));
      const wrongRole = await bob.call("complete_task", {
        task_id: "task_01JDQ7ZZZZZZZZZZZZZZZZZZZZ",
      });
      assert(errorText(wrongRole).startsWith("task_not_found: "));
    });

    await t.step("protocol errors are JSON-RPC errors", async () => {
      const err = await assertRejects(
        () => alice.client.callTool({ name: "no_such_tool", arguments: {} }),
        McpError,
      );
      assertEquals(err.code, -32602);
    });
  } finally {
    await alice.client.close();
    await bob.client.close();
    await w.close();
  }
});

Deno.test("mcp: a daemon that is down answers `unavailable` (the server still starts)", async () => {
  const w = await startWorld();
  const mcp = await connect(w.alice);
  try {
    await w.alice.close();
    const result = await mcp.call("whoami");
    assert(errorText(result).startsWith("unavailable: "), errorText(result));
  } finally {
    await mcp.client.close();
    await w.close();
  }
});
