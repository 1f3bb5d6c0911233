/**
 * The daemon's A2A edge, driven by the official `@a2a-js/sdk` client: alice's A2A client talks
 * to @bob/writer through `a2aApp` in front of alice's daemon; bob's side is played with the
 * TaskFerry SDK (accept, progress, artifact), so every step is awaited, never slept on.
 */
import { TaskState } from "@a2a-js/sdk";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { startWorld, type World } from "../client/world.ts";
import {
  bearerFetch,
  collect,
  isStatus,
  rpc,
  sdkClient,
  sendRequest,
  startBridge,
  text,
  textOf,
  userMessage,
} from "./helpers.ts";

Deno.test("a2a: the SDK client sends, streams, follows up, accepts, cancels and reads tasks at a remote agent", async (t) => {
  const w: World = await startWorld();
  const bridge = startBridge(w.alice);
  const bob = w.bob.api;
  const endpoint = `${bridge.url}/a2a/bob/writer`;
  try {
    const client = await sdkClient(endpoint, w.alice.token);

    await t.step("agent card", async () => {
      const card = await client.getAgentCard();
      assertEquals(card.name, "@bob/writer");
      assertEquals(card.supportedInterfaces[0]?.url, endpoint);
      assertEquals(card.supportedInterfaces[0]?.protocolVersion, "1.0");
      assertEquals(card.supportedInterfaces[0]?.protocolBinding, "JSONRPC");
      assertEquals(card.capabilities?.streaming, true);
      const scheme = Object.values(card.securitySchemes)[0]?.scheme;
      assert(scheme?.$case === "httpAuthSecurityScheme" && scheme.value.scheme === "Bearer");
      assert(card.skills.length >= 1);
    });

    let taskId = "";
    await t.step("stream: submitted → working → progress → artifact → input-required", async () => {
      const stream = collect(client.sendMessageStream(
        sendRequest(userMessage([text("Write a haiku\nabout ferries")], "", "ctx-1")),
      ));
      const { item } = await bob.waitForInbox("@bob/writer", (m) => m.type === "task_request");
      taskId = item.task_id!;
      await stream.until((e) => e.payload?.$case === "task");
      const first = stream.seen[0]!.payload;
      assert(first?.$case === "task");
      assertEquals(first.value.id, taskId);
      assertEquals(first.value.contextId, "ctx-1");
      assertEquals(first.value.status?.state, TaskState.TASK_STATE_SUBMITTED);
      assertEquals(textOf(first.value.history[0]?.parts), "Write a haiku\nabout ferries");
      await bob.acceptTask(taskId);
      await stream.until(isStatus(TaskState.TASK_STATE_WORKING));
      await bob.request("POST", `/v1/tasks/${taskId}/progress`, { text: "halfway there" });
      await stream.until(isStatus(TaskState.TASK_STATE_WORKING, "halfway there"));
      await bob.submitArtifact(taskId, { content: "ferry v1", name: "haiku.md" });
      await stream.done; // the stream ends by itself at input-required
      const kinds = stream.seen.map((e) => e.payload?.$case);
      const art = stream.seen.find((e) => e.payload?.$case === "artifactUpdate")?.payload;
      assert(art?.$case === "artifactUpdate", kinds.join());
      assertEquals(textOf(art.value.artifact?.parts), "ferry v1");
      assertEquals(art.value.artifact?.name, "haiku.md");
      const last = stream.seen.at(-1)?.payload;
      assert(last?.$case === "statusUpdate", kinds.join());
      assertEquals(last.value.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
      assertEquals(last.value.contextId, "ctx-1");
    });

    await t.step("get: input-required with the artifact and the TaskFerry state", async () => {
      const task = await client.getTask({ tenant: "", id: taskId });
      assertEquals(task.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);
      assertEquals(task.artifacts.map((a) => textOf(a.parts)), ["ferry v1"]);
      assertEquals(task.metadata?.taskferry?.state, "submitted");
      const none = await client.getTask({ tenant: "", id: taskId, historyLength: 0 });
      assertEquals(none.history, []);
    });

    await t.step("follow-up: a revision reaches bob; resubscribe sees v2", async () => {
      const answer = await client.sendMessage(
        sendRequest(userMessage([text("More waves, please.")], taskId), true),
      );
      assert(!("messageId" in answer));
      assertEquals(answer.status?.state, TaskState.TASK_STATE_WORKING);
      assertEquals(answer.metadata?.taskferry?.state, "revision_requested");
      const { item } = await bob.waitForInbox(
        "@bob/writer",
        (m) => m.type === "revision_request" && m.task_id === taskId,
      );
      assertEquals(item.payload.feedback, "More waves, please.");
      const stream = collect(client.resubscribeTask({ tenant: "", id: taskId }));
      await stream.until((e) => e.payload?.$case === "task");
      await bob.submitArtifact(taskId, { content: "ferry v2, more waves" });
      await stream.done;
      assert(stream.seen.some((e) =>
        e.payload?.$case === "artifactUpdate" &&
        textOf(e.payload.value.artifact?.parts) === "ferry v2, more waves"
      ));
      assert(isStatus(TaskState.TASK_STATE_INPUT_REQUIRED)(stream.seen.at(-1)!));
    });

    await t.step(
      "accept: 'accept' completes the task; a terminal task takes no messages",
      async () => {
        const done = await client.sendMessage(sendRequest(userMessage([text("Accept.")], taskId)));
        assert(!("messageId" in done));
        assertEquals(done.status?.state, TaskState.TASK_STATE_COMPLETED);
        assertEquals(done.artifacts.length, 2);
        await bob.waitForInbox("@bob/writer", (m) => m.type === "task_complete");
        const err = await assertRejects(() =>
          client.sendMessage(sendRequest(userMessage([text("again")], taskId)))
        );
        assertEquals((err as { envelopeCode?: number }).envelopeCode, -32004);
      },
    );

    await t.step("cancel, then cancel again (not cancelable)", async () => {
      const sent = await client.sendMessage(
        sendRequest(userMessage([text("Something to cancel")]), true),
      );
      assert(!("messageId" in sent));
      assertEquals(sent.status?.state, TaskState.TASK_STATE_SUBMITTED);
      const cancelled = await client.cancelTask({ tenant: "", id: sent.id, metadata: {} });
      assertEquals(cancelled.status?.state, TaskState.TASK_STATE_CANCELED);
      await bob.waitForInbox(
        "@bob/writer",
        (m) => m.type === "task_cancel" && m.task_id === sent.id,
      );
      const err = await assertRejects(() =>
        client.cancelTask({ tenant: "", id: sent.id, metadata: {} })
      );
      assertEquals((err as { envelopeCode?: number }).envelopeCode, -32002);
    });

    await t.step("unknown task: TaskNotFound (-32001)", async () => {
      const err = await assertRejects(() =>
        client.getTask({ tenant: "", id: "task_01M800TAA76RWNMDMVRFVC5GA9" })
      );
      assertEquals((err as { envelopeCode?: number }).envelopeCode, -32001);
    });

    await t.step(
      "a task with another peer is not reachable through this peer's endpoint",
      async () => {
        await w.bob.api.createAgent({ handle: "@bob/editor", public: true });
        await w.alice.api.connect({ from: "@alice/requester", to: "@bob/editor" });
        await bob.waitForInbox("@bob/editor", (m) => m.type === "connection_request");
        await bob.acceptConnection("@alice/requester", { agent: "@bob/editor" });
        await w.alice.api.waitForInbox(
          "@alice/requester",
          (m) => m.type === "connection_accept" && m.from === "@bob/editor",
        );
        const other = await w.alice.api.createTask({
          from: "@alice/requester",
          to: "@bob/editor",
          title: "for the editor",
          instructions: "edit",
        });
        for (
          const call of [
            () => client.getTask({ tenant: "", id: other.task.id }),
            () => client.cancelTask({ tenant: "", id: other.task.id, metadata: {} }),
            () => client.sendMessage(sendRequest(userMessage([text("accept")], other.task.id))),
          ]
        ) {
          const err = await assertRejects(call);
          assertEquals((err as { envelopeCode?: number }).envelopeCode, -32001);
        }
        assertEquals((await w.alice.api.task(other.task.id)).task.state, "requested");
        // The editor has its own endpoint, where the task is found.
        const editor = await sdkClient(`${bridge.url}/a2a/bob/editor`, w.alice.token);
        assertEquals((await editor.getTask({ tenant: "", id: other.task.id })).id, other.task.id);
      },
    );

    await t.step("wrong or missing token: 401, nothing created", async () => {
      const before = (await w.alice.api.tasks()).length;
      await assertRejects(() => sdkClient(endpoint, "not-the-token"));
      const send = {
        jsonrpc: "2.0",
        id: 1,
        method: "SendMessage",
        params: { message: { messageId: "m1", role: "ROLE_USER", parts: [{ text: "hi" }] } },
      };
      const wrong = await rpc(bridge, "/a2a/bob/writer", "not-the-token", send);
      assertEquals(wrong.status, 401);
      const none = await fetch(`${endpoint}`, { method: "POST", body: JSON.stringify(send) });
      assertEquals(none.status, 401);
      await none.body?.cancel();
      assertEquals((await w.alice.api.tasks()).length, before);
    });

    await t.step("unknown or unconnected handle: 404", async () => {
      const card = await bearerFetch(w.alice.token)(
        `${bridge.url}/a2a/bob/nobody/.well-known/agent-card.json`,
      );
      assertEquals(card.status, 404);
      assertEquals((await card.json()).error.code, "not_connected");
      const call = await rpc(bridge, "/a2a/bob/nobody", w.alice.token, {
        jsonrpc: "2.0",
        id: 2,
        method: "GetTask",
        params: { id: taskId },
      });
      assertEquals(call.status, 404);
      assert(String(call.body.error.message).startsWith("not_connected"));
    });

    await t.step("bad input: not JSON, no message, file parts", async () => {
      const bad = await rpc(bridge, "/a2a/bob/writer", w.alice.token, "{nope");
      assertEquals(bad.body.error.code, -32700);
      const empty = await rpc(bridge, "/a2a/bob/writer", w.alice.token, {
        jsonrpc: "2.0",
        id: 3,
        method: "SendMessage",
        params: {},
      });
      assertEquals(empty.body.error.code, -32602);
      const file = await rpc(bridge, "/a2a/bob/writer", w.alice.token, {
        jsonrpc: "2.0",
        id: 4,
        method: "SendMessage",
        params: {
          message: { messageId: "m4", role: "ROLE_USER", parts: [{ url: "file:///etc/passwd" }] },
        },
      });
      assertEquals(file.body.error.code, -32005);
      const huge = await rpc(bridge, "/a2a/bob/writer", w.alice.token, "x".repeat(1024 * 1024 + 1));
      assertEquals(huge.status, 413);
    });

    await t.step("raw JSON-RPC as in docs/integrations.md (curl)", async () => {
      const sent = await rpc(bridge, "/a2a/bob/writer", w.alice.token, {
        jsonrpc: "2.0",
        id: 6,
        method: "SendMessage",
        params: {
          message: { messageId: "m6", role: "ROLE_USER", parts: [{ text: "Write a limerick" }] },
          configuration: { returnImmediately: true },
        },
      }, { "A2A-Version": "1.0" });
      assertEquals(sent.body.result.task.status.state, "TASK_STATE_SUBMITTED");
      assertEquals(sent.body.result.task.metadata.taskferry.title, "Write a limerick");
      const got = await rpc(bridge, "/a2a/bob/writer", w.alice.token, {
        jsonrpc: "2.0",
        id: 7,
        method: "GetTask",
        params: { id: sent.body.result.task.id },
      }, { "A2A-Version": "1.0" });
      assertEquals(got.body.result.id, sent.body.result.task.id);
      const wrongVersion = await rpc(bridge, "/a2a/bob/writer", w.alice.token, {
        jsonrpc: "2.0",
        id: 8,
        method: "GetTask",
        params: { id: sent.body.result.task.id },
      }, { "A2A-Version": "9.9" });
      assertEquals(wrongVersion.body.error.code, -32009);
    });

    await t.step("A2A 0.3 method names work on the same endpoint", async () => {
      const got = await rpc(bridge, "/a2a/bob/writer", w.alice.token, {
        jsonrpc: "2.0",
        id: 5,
        method: "tasks/get",
        params: { id: taskId },
      }, { "A2A-Version": "0.3" });
      assertEquals(got.body.result.id, taskId);
      assertEquals(got.body.result.status.state, "completed");
      assertEquals(got.body.result.kind, "task");
      const sent = await rpc(bridge, "/a2a/bob/writer", w.alice.token, {
        jsonrpc: "2.0",
        id: 9,
        method: "message/send",
        params: {
          message: {
            kind: "message",
            messageId: "m9",
            role: "user",
            parts: [{ kind: "text", text: "An 0.3 client's task" }],
          },
          configuration: { blocking: false },
        },
      }, { "A2A-Version": "0.3" });
      assertEquals(sent.body.result.kind, "task");
      assertEquals(sent.body.result.status.state, "submitted");
      assertEquals(
        (await w.alice.api.task(sent.body.result.id)).task.instructions,
        "An 0.3 client's task",
      );
    });
  } finally {
    await bridge.close();
    await w.close();
  }
});
