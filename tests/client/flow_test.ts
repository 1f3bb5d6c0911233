import { assert, assertEquals } from "../assert.ts";
import { verifyChain } from "../../lib/client/mod.ts";
import { eventually, startWorld } from "./world.ts";

Deno.test("daemons: the whole task flow, both sides' states and timelines", async () => {
  const w = await startWorld();
  try {
    const { alice, bob } = w;
    const created = await alice.api.createTask({
      from: "@alice/requester",
      to: "@bob/writer",
      title: "Write a haiku",
      instructions: "About ferries.",
      max_revisions: 2,
    });
    const taskId = created.task.id;
    assertEquals(created.task.state, "requested");

    const req = await bob.api.waitForInbox("@bob/writer", (m) => m.type === "task_request");
    assertEquals(req.item.task_id, taskId);
    await bob.api.acceptTask(taskId);
    await bob.api.submitArtifact(taskId, { content: "ferry v1" });
    const v1 = await alice.api.waitForInbox(
      "@alice/requester",
      (m) => m.type === "artifact_submit",
    );
    assertEquals(v1.item.payload.version, 1);
    await alice.api.requestRevision(taskId, { feedback: "more waves" });
    await bob.api.waitForInbox("@bob/writer", (m) => m.type === "revision_request", {
      after: req.after,
    });
    await bob.api.submitArtifact(taskId, { content: "ferry v2, waves" });
    await alice.api.waitForInbox(
      "@alice/requester",
      (m) => m.type === "artifact_submit" && m.payload.version === 2,
      { after: v1.after },
    );
    await alice.api.completeTask(taskId);
    const done = await eventually(async () => {
      const t = await bob.api.task(taskId);
      return t.task.state === "completed" ? t : null;
    });
    const mine = await alice.api.task(taskId);
    assertEquals(mine.task.state, "completed");
    for (const side of [mine, done]) {
      assertEquals(side.task.artifact_version, 2);
      assertEquals(side.task.revisions, 1);
      assertEquals(side.artifacts.map((a) => a.content), ["ferry v1", "ferry v2, waves"]);
      assertEquals(side.events.map((e) => e.type), [
        "task_request",
        "task_accept",
        "artifact_submit",
        "revision_request",
        "artifact_submit",
        "task_complete",
      ]);
    }
    assertEquals(verifyChain(alice.running.daemon, taskId), null);
    assertEquals(verifyChain(bob.running.daemon, taskId), null);
    // The sender sees delivery, then read/processed when the peer's agent acks.
    const msg = await alice.api.send({
      from: "@alice/requester",
      to: "@bob/writer",
      text: "thanks!",
    });
    const got = await bob.api.waitForInbox("@bob/writer", (m) => m.id === msg.message.id);
    await eventually(async () => (await alice.api.message(msg.message.id)).state === "delivered");
    await bob.api.ack(got.item.id, "processed");
    await eventually(async () => (await alice.api.message(msg.message.id)).state === "processed");
    assert(true);
  } finally {
    await w.close();
  }
});
